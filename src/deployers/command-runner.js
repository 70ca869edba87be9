'use strict';
/**
 * The helper process behind src/deployers/process-launcher.ts: it starts deploy commands for
 * Shipmate, so that Shipmate's own process never forks. Plain JavaScript, forked as it is from
 * src/ and from dist/ alike.
 *
 * Messages in:  { type: 'run', id, command, args, cwd, env, timeoutMs, killGraceMs, maxBuffer }
 *               { type: 'stop' }  (SIGTERM to every command still running)
 * Messages out: { type: 'done', id, code, signal, output, timedOut, error }
 *
 * Each command runs in its own process group, so a timeout or a stop reaches its children too.
 * When Shipmate goes away (the IPC channel closes), running commands get SIGTERM and the helper exits;
 * signals meant for Shipmate's process group do not stop it before that.
 */
const { spawn } = require('node:child_process');

/** Process group IDs of the commands still running. */
const running = new Set();

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

const stopAll = () => {
  for (const pid of running) signalGroup(pid, 'SIGTERM');
};

function run(request) {
  let output = '';
  let timedOut = false;
  let killTimer;
  let child;
  let replied = false;
  // A command that cannot start emits 'error' and then 'close': the first one answers.
  const reply = (result) => {
    if (replied || !process.connected) return;
    replied = true;
    process.send({ type: 'done', id: request.id, ...result });
  };
  try {
    child = spawn(request.command, request.args, { cwd: request.cwd, env: request.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    reply({ code: null, signal: null, output: '', timedOut: false, error: error.message });
    return;
  }
  const pid = child.pid;
  if (pid) running.add(pid);
  const collect = (chunk) => {
    output = (output + chunk.toString('utf8')).slice(-request.maxBuffer);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const timer = setTimeout(() => {
    timedOut = true;
    if (pid) signalGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => pid && signalGroup(pid, 'SIGKILL'), request.killGraceMs);
  }, request.timeoutMs);
  child.on('error', (error) => {
    if (pid) running.delete(pid);
    clearTimeout(timer);
    reply({ code: null, signal: null, output, timedOut: false, error: error.message });
  });
  child.on('close', (code, signal) => {
    if (pid) running.delete(pid);
    clearTimeout(timer);
    clearTimeout(killTimer);
    reply({ code, signal, output, timedOut });
  });
}

process.on('message', (message) => {
  if (message.type === 'run') run(message);
  else if (message.type === 'stop') stopAll();
});

// Ctrl-C in a terminal, or a supervisor signalling the whole process group, reaches the helper too.
// Shipmate stops its commands itself, in order; the helper goes when Shipmate lets go of it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => undefined);

process.on('disconnect', () => {
  stopAll();
  process.exit(0);
});
