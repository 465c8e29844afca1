import { randomUUID } from 'node:crypto';
import type { Worker as ClusterWorker } from 'node:cluster';
import type { MessagePort, Worker as ThreadWorker } from 'node:worker_threads';
import { processLocalMetrics, type MetricsJson } from './metrics.ts';

// Wire format: a request is { type: `${name}?`, id }, its reply { type: `${name}!`, id, body }.
const METRICS = 'powiadom:metrics';
const REPLY_TIMEOUT_MS = 2_000;

/** Two-way messages with another thread or process: a worker thread, a parent port, a cluster worker, this process's parent. */
export interface IpcChannel {
  send(message: unknown): void;
  on(listener: (message: unknown) => void): void;
  off(listener: (message: unknown) => void): void;
}

/** The channel to a worker thread, or (inside it) to its parent. */
export function threadChannel(peer: ThreadWorker | MessagePort): IpcChannel {
  return {
    send: (message) => peer.postMessage(message),
    on: (listener) => peer.on('message', listener),
    off: (listener) => peer.off('message', listener),
  };
}

// A peer that exited meanwhile: the message is dropped (the asking side times out), never thrown.
const ignoreSendError = () => undefined;

/** The channel to a cluster worker. */
export function clusterWorkerChannel(peer: ClusterWorker): IpcChannel {
  return {
    send: (message) => {
      if (peer.isConnected()) peer.send(message as never, undefined, undefined, ignoreSendError);
    },
    on: (listener) => peer.on('message', listener),
    off: (listener) => peer.off('message', listener),
  };
}

/** Inside a cluster worker: the channel to the primary process. */
export function parentProcessChannel(): IpcChannel {
  return {
    send: (message) => {
      if (process.connected) process.send?.(message, undefined, undefined, ignoreSendError);
    },
    on: (listener) => process.on('message', listener),
    off: (listener) => process.off('message', listener),
  };
}

interface Envelope {
  type: string;
  id: string;
  body?: unknown;
}

function isEnvelope(message: unknown, type: string): message is Envelope {
  return typeof message === 'object' && message !== null && (message as Envelope).type === type;
}

/** Sends a request named `name` and resolves with the body of its reply; null after the timeout (an unresponsive peer counts as none). */
export function ask<T>(channel: IpcChannel, name: string): Promise<T | null> {
  const id = randomUUID();
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if (isEnvelope(message, `${name}!`) && message.id === id) done((message.body as T | undefined) ?? null);
    };
    const timer = setTimeout(() => done(null), REPLY_TIMEOUT_MS);
    const done = (body: T | null) => {
      clearTimeout(timer);
      channel.off(onMessage);
      resolve(body);
    };
    channel.on(onMessage);
    channel.send({ type: `${name}?`, id });
  });
}

/** Answers every request named `name` arriving on the channel with what `produce` returns. */
export function answer(channel: IpcChannel, name: string, produce: () => Promise<unknown>): void {
  channel.on((message: unknown) => {
    if (!isEnvelope(message, `${name}?`)) return;
    void produce().then(
      (body) => channel.send({ type: `${name}!`, id: message.id, body }),
      () => channel.send({ type: `${name}!`, id: message.id }),
    );
  });
}

/** In a sender thread or an API process of a cluster: answers requests for this process's own counters and histograms. */
export function answerMetricsRequests(channel: IpcChannel): void {
  answer(channel, METRICS, processLocalMetrics);
}

/** Asks one thread or process for its own counters and histograms; null when it does not answer in time. */
export function requestMetrics(channel: IpcChannel): Promise<MetricsJson | null> {
  return ask<MetricsJson>(channel, METRICS);
}
