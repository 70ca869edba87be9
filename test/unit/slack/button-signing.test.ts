import { createButtonSigner, unsignedPart } from '../../../src/slack/button-signing';

describe('button signing', () => {
  const signer = createButtonSigner(Buffer.alloc(32, 7));

  it('gives back the value it signed, dots and colons included', () => {
    for (const value of ['42', '7:new.checkout', 'a.b.c', '']) {
      const signed = signer.sign('flag_undo', value);
      expect(signer.verify('flag_undo', signed)).toBe(value);
      expect(unsignedPart(signed)).toBe(value);
    }
  });

  it('refuses an edited value, an edited MAC, another action, another key and no MAC at all', () => {
    const signed = signer.sign('deploy_approve', '1');
    const mac = signed.slice(2);
    expect(signer.verify('deploy_approve', `2.${mac}`)).toBeUndefined();
    expect(signer.verify('deploy_approve', `1.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
    expect(signer.verify('deploy_rollback', signed)).toBeUndefined();
    expect(createButtonSigner(Buffer.alloc(32, 8)).verify('deploy_approve', signed)).toBeUndefined();
    expect(signer.verify('deploy_approve', '1')).toBeUndefined();
    expect(signer.verify('deploy_approve', `1.${mac}x`)).toBeUndefined();
  });

  it('signs every button of a message, leaves the rest alone, and does not touch frozen input', () => {
    const elementsOf = (block: unknown) => (block as { elements: { value?: string }[] }).elements;
    const blocks: readonly unknown[] = Object.freeze([
      Object.freeze({ type: 'section', text: { type: 'mrkdwn', text: 'value: 1' } }),
      Object.freeze({
        type: 'actions',
        elements: Object.freeze([
          Object.freeze({ type: 'button', action_id: 'deploy_approve', value: '1' }),
          Object.freeze({ type: 'button', action_id: 'incident_runbook', url: 'https://runbooks.example/api' }),
        ]),
      }),
    ]);
    const signed = signer.signBlocks(blocks);
    const [approve, link] = elementsOf(signed[1]);
    expect(signer.verify('deploy_approve', approve!.value!)).toBe('1');
    expect(link).toEqual({ type: 'button', action_id: 'incident_runbook', url: 'https://runbooks.example/api' });
    expect(signed[0]).toEqual(blocks[0]);
    expect(elementsOf(blocks[1])[0]!.value).toBe('1');
  });
});
