export { HttpErrorFilter } from './error.filter.js';
export type { HttpErrorFilterOptions } from './error.filter.js';
export { createHttpApp } from './http-app.js';
export type { HttpAppOptions } from './http-app.js';
export { PayloadTooLargeError, httpAnswerOf } from './http-refined.js';
export type { HttpRefined } from './http-refined.js';
export type { HttpRequest, HttpResponse } from './http-types.js';
export { BodyMiddleware, readBodyBytes, refuseDeclaredOverLimit } from './request-body.js';
