/** SQLite keeps times as ISO-8601 text; NULL stays null both ways. */
export const toDate = (value: string | null): Date | null => (value === null ? null : new Date(value));
export const toIso = (value: Date | null | undefined): string | null => value?.toISOString() ?? null;
