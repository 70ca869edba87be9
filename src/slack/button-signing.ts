import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Button values are signed when Shipmate posts them and checked when a click comes back, so a click
 * whose value was edited to name another deploy, release, incident or flag change (a hand-made
 * request, a tampering client) is refused instead of acted on.
 *
 * A signed value is `<value>.<mac>`: the MAC covers the action ID and the value, so a value cannot
 * be moved to another button either. It is the last dot-separated part, so values may contain dots.
 */
const MAC_LENGTH = 22; // 16 bytes of HMAC-SHA256 in base64url: guessing one is out of reach.

export interface ButtonSigner {
  sign(actionId: string, value: string): string;
  /** The value as Shipmate posted it, or undefined when the value or its MAC was changed. */
  verify(actionId: string, signed: string): string | undefined;
  /** A copy of these blocks (a message's or a view's) with every button's value signed. */
  signBlocks<T>(blocks: T): T;
}

/** What a signed value shows before its MAC: what tests and the playground compare clicks by. */
export function unsignedPart(signed: string): string {
  const dot = signed.lastIndexOf('.');
  return dot >= 0 && signed.length - dot - 1 === MAC_LENGTH ? signed.slice(0, dot) : signed;
}

export function createButtonSigner(key: Buffer): ButtonSigner {
  const mac = (actionId: string, value: string) => createHmac('sha256', key).update(`${actionId}\0${value}`).digest('base64url').slice(0, MAC_LENGTH);
  const sign = (actionId: string, value: string) => `${value}.${mac(actionId, value)}`;

  // A copy: Block Kit builders hand out frozen objects.
  const signed = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(signed);
    if (!node || typeof node !== 'object') return node;
    const element = node as { type?: unknown; action_id?: unknown; value?: unknown };
    if (element.type === 'button' && typeof element.action_id === 'string' && typeof element.value === 'string') {
      return { ...element, value: sign(element.action_id, element.value) };
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, signed(v)]));
  };

  return {
    sign,
    verify(actionId, signed) {
      const dot = signed.lastIndexOf('.');
      if (dot < 0) return undefined;
      const value = signed.slice(0, dot);
      const given = Buffer.from(signed.slice(dot + 1));
      const expected = Buffer.from(mac(actionId, value));
      return given.length === expected.length && timingSafeEqual(given, expected) ? value : undefined;
    },
    signBlocks: <T>(blocks: T) => signed(blocks) as T,
  };
}
