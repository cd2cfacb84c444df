/**
 * The error of the run folder's files: a write or read that failed, said in words a user can act on
 * (atomic.ts ioErrorMessage). Its own module, with no imports, so that every runs/ module can
 * extend it whatever order they are loaded in.
 */
export class RunIoError extends Error {}
