import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

/** What the app sends back over the socket to acknowledge an envelope. */
export interface SocketModeAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP = { continuation: 0x0, text: 0x1, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** One unfragmented frame. Servers never mask what they send (RFC 6455 §5.1). */
function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const header = Buffer.alloc(n < 126 ? 2 : n < 65536 ? 4 : 10);
  header[0] = 0x80 | opcode;
  if (n < 126) header[1] = n;
  else if (n < 65536) {
    header[1] = 126;
    header.writeUInt16BE(n, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([header, payload]);
}

/**
 * The server side of one WebSocket connection: text messages, ping/pong and the close handshake.
 * `ws` is not installed here (@slack/socket-mode 3 connects with undici's WebSocket), and the
 * protocol a Socket Mode peer needs is this small.
 */
class WebSocketConnection {
  readonly closed: Promise<void>;
  private buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private closeSent = false;

  constructor(
    private readonly socket: Duplex,
    private readonly onText: (text: string) => void,
    private readonly onClientClose: (code: number | undefined) => void,
  ) {
    this.closed = once(socket, 'close').then(() => undefined);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => socket.destroy());
  }

  /** Bytes off the wire; `head` from the upgrade event goes here too. */
  receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.readFrames();
  }

  get open(): boolean {
    return !this.closeSent && !this.socket.destroyed;
  }

  sendText(text: string): void {
    this.socket.write(encodeFrame(OP.text, Buffer.from(text, 'utf8')));
  }

  /** Starts the close handshake; the TCP connection ends when the client answers. */
  close(code = 1000): void {
    if (this.closeSent || this.socket.destroyed) return;
    this.closeSent = true;
    const body = Buffer.alloc(2);
    body.writeUInt16BE(code);
    this.socket.write(encodeFrame(OP.close, body));
  }

  private readFrames(): void {
    for (;;) {
      if (this.buffer.length < 2) return;
      const [first, second] = [this.buffer[0]!, this.buffer[1]!];
      let length = second & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      const masked = (second & 0x80) !== 0;
      const mask = this.buffer.subarray(offset, offset + 4);
      if (masked) offset += 4;
      if (this.buffer.length < offset + length) return;
      const payload = Buffer.from(this.buffer.subarray(offset, offset + length));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ mask[i % 4]!;
      this.buffer = this.buffer.subarray(offset + length);
      // A client must mask every frame (RFC 6455 §5.1); a client that does not is broken.
      if (!masked) return this.close(1002);
      this.onFrame(first & 0x0f, (first & 0x80) !== 0, payload);
    }
  }

  private onFrame(opcode: number, fin: boolean, payload: Buffer): void {
    switch (opcode) {
      case OP.text:
      case OP.continuation:
        this.fragments.push(payload);
        if (fin) this.onText(Buffer.concat(this.fragments.splice(0)).toString('utf8'));
        return;
      case OP.ping:
        this.socket.write(encodeFrame(OP.pong, payload));
        return;
      case OP.close:
        if (!this.closeSent) this.onClientClose(payload.length >= 2 ? payload.readUInt16BE(0) : undefined);
        // Echo the status if the client started the handshake, then the server ends TCP (§7.1.1).
        if (!this.closeSent) {
          this.closeSent = true;
          this.socket.write(encodeFrame(OP.close, payload.subarray(0, 2)));
        }
        this.socket.end();
        return;
      default:
        return;
    }
  }
}

/**
 * A stand-in for Slack's Socket Mode endpoint (https://api.slack.com/apis/socket-mode): the URL
 * that `apps.connections.open` hands out. On connect it sends `hello`; `request()` sends an
 * envelope and resolves with the payload the app acks it with. Every message the app sends is
 * kept in `received`.
 */
export class SocketModeServer {
  readonly received: SocketModeAck[] = [];
  /** Upgrade requests that were accepted, in order. */
  readonly handshakes: IncomingMessage[] = [];
  /** Status codes of the close handshakes the app started (1000 is a normal closure). */
  readonly clientCloseCodes: (number | undefined)[] = [];
  private server: Server | undefined;
  private readonly connections = new Set<WebSocketConnection>();
  private readonly acks = new Map<string, (ack: SocketModeAck) => void>();
  private connectWaiters: (() => void)[] = [];

  constructor(private readonly appId = 'A0SHIPMATE') {}

  /** What `apps.connections.open` should answer with; Slack's URLs carry a one-time ticket. */
  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `ws://127.0.0.1:${port}/link/?ticket=${randomUUID()}&app_id=${this.appId}`;
  }

  async start(): Promise<this> {
    this.server = createServer((_req, res) => {
      res.writeHead(426, { upgrade: 'websocket' });
      res.end();
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.accept(req, socket, head));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  /** Resolves once a client has connected and been sent `hello`. */
  connected(): Promise<void> {
    if (this.openConnection()) return Promise.resolve();
    return new Promise((resolve) => this.connectWaiters.push(resolve));
  }

  /** Resolves once no connection is left (the app closed it, or it was never opened). */
  async disconnected(): Promise<void> {
    await Promise.all([...this.connections].map((c) => c.closed));
  }

  /** Sends an envelope of `type` and resolves with the payload of the app's ack. */
  request(type: string, payload: Record<string, unknown>, acceptsResponsePayload = true): Promise<Record<string, unknown> | undefined> {
    const connection = this.openConnection();
    if (!connection) return Promise.reject(new Error('no Socket Mode client is connected'));
    const envelopeId = randomUUID();
    const acked = new Promise<SocketModeAck>((resolve) => this.acks.set(envelopeId, resolve));
    connection.sendText(JSON.stringify({ envelope_id: envelopeId, type, accepts_response_payload: acceptsResponsePayload, payload }));
    return acked.then((ack) => ack.payload);
  }

  /** Closes every connection with the close handshake and waits until each TCP connection is gone. */
  async stop(): Promise<void> {
    const closing = [...this.connections].map((c) => {
      c.close(1001);
      return c.closed;
    });
    await Promise.all(closing);
    if (this.server) await new Promise((resolve) => this.server!.close(resolve));
  }

  private openConnection(): WebSocketConnection | undefined {
    return [...this.connections].find((c) => c.open);
  }

  private accept(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const key = req.headers['sec-websocket-key'];
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (!/^\/link\/?$/.test(path) || req.headers.upgrade?.toLowerCase() !== 'websocket' || req.headers['sec-websocket-version'] !== '13' || !key) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(`${key}${HANDSHAKE_GUID}`).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    this.handshakes.push(req);
    const connection = new WebSocketConnection(
      socket,
      (text) => this.onMessage(text),
      (code) => this.clientCloseCodes.push(code),
    );
    this.connections.add(connection);
    void connection.closed.then(() => this.connections.delete(connection));
    connection.sendText(
      JSON.stringify({
        type: 'hello',
        num_connections: this.connections.size,
        debug_info: { host: 'applink-test', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.appId },
      }),
    );
    this.connectWaiters.splice(0).forEach((notify) => notify());
    if (head.length > 0) connection.receive(head);
  }

  private onMessage(text: string): void {
    const message = JSON.parse(text) as SocketModeAck;
    this.received.push(message);
    const resolve = this.acks.get(message.envelope_id);
    if (resolve) {
      this.acks.delete(message.envelope_id);
      resolve(message);
    }
  }
}
