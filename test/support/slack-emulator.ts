// The emulator is the playground's too; tests use the same one.
export * from '../../src/playground/slack-emulator';
