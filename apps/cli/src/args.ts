/** A command-line mistake: the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** How a flag takes its value. */
export type FlagKind = 'string' | 'boolean' | 'list';

/** The flags a command accepts, by name (without `--`). */
export type FlagSpec = Readonly<Record<string, FlagKind>>;

/** Parsed flags and positional arguments of one command. */
export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly strings: ReadonlyMap<string, string>;
  readonly lists: ReadonlyMap<string, readonly string[]>;
  readonly booleans: ReadonlySet<string>;
}

/** Parses `--flag value`, `--flag=value` and boolean `--flag`; an unknown flag is a {@link UsageError}. */
export function parseArgs(argv: readonly string[], spec: FlagSpec): ParsedArgs {
  const positionals: string[] = [];
  const strings = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const booleans = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = spec[name];
    if (kind === undefined) throw new UsageError(`unknown flag --${name}`);
    if (kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      booleans.add(name);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) {
      throw new UsageError(`--${name} needs a value`);
    }
    if (kind === 'list') lists.set(name, [...(lists.get(name) ?? []), value]);
    else strings.set(name, value);
  }
  return { positionals, strings, lists, booleans };
}

/** The value of a required string flag, or a {@link UsageError} naming it. */
export function required(args: ParsedArgs, name: string): string {
  const value = args.strings.get(name);
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}
