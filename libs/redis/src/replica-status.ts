import type { Redis } from 'ioredis';

/** What one STS replica reports about one zone; the coordinator reads every replica's. */
export interface ReplicaStatus {
  readonly zoneId: string;
  readonly replicaId: string;
  readonly region: string;
  /** Revision served; `null` while the replica has no bundle for the zone. */
  readonly revision: string | null;
  /** When the served bundle was loaded. */
  readonly loadedAt: Date | null;
  /** When the replica last confirmed it serves the zone's active revision. */
  readonly confirmedAt: Date | null;
  /** When this report was written (a heartbeat). */
  readonly reportedAt: Date;
}

/** Key prefix of replica status hashes: `caracal:sts:replica:{zone}:{replica}`. */
export const replicaStatusPrefix = 'caracal:sts:replica:';

/** The key of one replica's status for one zone. */
export function replicaStatusKey(zoneId: string, replicaId: string): string {
  return `${replicaStatusPrefix}${zoneId}:${replicaId}`;
}

const iso = (date: Date | null) => (date ? date.toISOString() : '');
const date = (value: string | undefined) => (value ? new Date(value) : null);

/**
 * Writes a replica's status as a hash that expires after `ttlSeconds`: a
 * replica that stops reporting disappears, so "every live replica" means every
 * replica that reported within the TTL.
 */
export async function writeReplicaStatus(
  redis: Redis,
  status: ReplicaStatus,
  ttlSeconds: number,
): Promise<void> {
  const key = replicaStatusKey(status.zoneId, status.replicaId);
  await redis
    .multi()
    .hset(key, {
      zone_id: status.zoneId,
      replica_id: status.replicaId,
      region: status.region,
      revision: status.revision ?? '',
      loaded_at: iso(status.loadedAt),
      confirmed_at: iso(status.confirmedAt),
      reported_at: status.reportedAt.toISOString(),
    })
    .expire(key, ttlSeconds)
    .exec();
}

/** Every live replica's status for a zone (SCAN, never KEYS), sorted by replica id. */
export async function readReplicaStatuses(redis: Redis, zoneId: string): Promise<ReplicaStatus[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(
      cursor,
      'MATCH',
      `${replicaStatusPrefix}${zoneId}:*`,
      'COUNT',
      500,
    );
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.hgetall(key);
  const results = (await pipeline.exec()) ?? [];
  const statuses: ReplicaStatus[] = [];
  for (const [error, value] of results) {
    const fields = value as Record<string, string> | null;
    // A key that expired between SCAN and HGETALL comes back empty: that replica is gone.
    if (error || !fields || !fields['replica_id']) continue;
    statuses.push({
      zoneId: fields['zone_id'] ?? zoneId,
      replicaId: fields['replica_id'],
      region: fields['region'] ?? '',
      revision: fields['revision'] || null,
      loadedAt: date(fields['loaded_at']),
      confirmedAt: date(fields['confirmed_at']),
      reportedAt: date(fields['reported_at']) ?? new Date(0),
    });
  }
  return statuses.sort((a, b) => a.replicaId.localeCompare(b.replicaId));
}
