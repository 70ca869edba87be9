import ms from 'ms';
import { z } from 'zod';

/** "30s", "5m", "1.5h" -> milliseconds. A unit is required: a bare "30" would silently mean 30ms. */
export const duration = z.string().transform((text, ctx) => {
  let value: number | undefined;
  try {
    value = /[a-z]\s*$/i.test(text) ? ms(text as ms.StringValue) : undefined;
  } catch {
    value = undefined; // ms() throws on an empty or over-long string
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration: use a number and a unit, like 30s, 5m or 1h` });
    return z.NEVER;
  }
  return value;
});
