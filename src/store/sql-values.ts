/** SQLite keeps times as ISO-8601 text; NULL stays null both ways. */
export const toDate = (value: string | null): Date | null => (value === null ? null : new Date(value));
export const toIso = (value: Date | null | undefined): string | null => value?.toISOString() ?? null;

/**
 * `LIMIT` with a value bound at run time. Write it as `LIMIT +@name`, never `LIMIT @name`: SQLite
 * (since 3.47) plans a bare `LIMIT ?` around its bound value and marks the statement to be prepared
 * again whenever that parameter is bound, which better-sqlite3 does on every run, so the statement was
 * parsed and planned anew each time (15 µs for a one-line select, ~80 µs for the effect worker's look).
 * The unary plus keeps the value out of planning; the plans stay the same.
 */
export const limitTo = (parameter: string): string => `LIMIT +@${parameter}`;
