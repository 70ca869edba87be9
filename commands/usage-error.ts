import { ValidationError } from '../src/core/errors';

const LONGEST_WORD = 80;
const LONGEST_MESSAGE = 2000;

/**
 * Usage errors quote what was typed. A long paste must not push the answer past what one Slack
 * section holds (3000 characters), or the person gets no readable answer at all: long words are
 * cut to their start, and the message as a whole to its first 2000 characters.
 */
export function boundEcho(message: string): string {
  const words = message.replace(new RegExp(`\\S{${LONGEST_WORD + 1},}`, 'gu'), (w) => `${[...w].slice(0, 60).join('')}…`);
  return words.length <= LONGEST_MESSAGE ? words : `${words.slice(0, LONGEST_MESSAGE)}…`;
}

/** The base of each command's usage error: the same rule for every grammar. */
export class CommandUsageError extends ValidationError {
  constructor(message: string) {
    super(boundEcho(message));
  }
}
