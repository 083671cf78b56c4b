// HTTP probes of a node, as a client would.

export interface LimitProbe {
  /** Statuses of the connections held open (their bodies unread). */
  held: number[];
  /** Status of the one past the limit. */
  extra: number;
}

/**
 * Opens `limit` concurrent downloads of a large file and keeps them open
 * (bodies unread, so the server cannot finish), then one more; all are
 * aborted at the end. Bounded: limit + 1 requests, each with a timeout.
 */
export async function perAddressLimit(url: string, limit: number, timeoutMs = 20_000): Promise<LimitProbe> {
  const controllers: AbortController[] = [];
  const open = async () => {
    const c = new AbortController();
    controllers.push(c);
    const timer = setTimeout(() => c.abort(), timeoutMs);
    try {
      return (await fetch(url, { signal: c.signal })).status;
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    const held: number[] = [];
    for (let i = 0; i < limit; i++) held.push(await open());
    const extra = await open();
    return { held, extra };
  } finally {
    for (const c of controllers) c.abort();
  }
}

/** Does a second request reuse the first one's connection (keepalive)? Uses raw HTTP/1.1 on one socket. */
export async function keepaliveReuse(host: string, port: number, paths: [string, string]): Promise<{ statuses: number[]; connection: string }> {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    let data = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`keepalive probe timed out; got: ${data.slice(0, 200)}`));
    }, 15_000);
    sock.on("connect", () => {
      for (const p of paths) sock.write(`GET ${p} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    });
    sock.on("data", (d) => {
      data += d.toString("latin1");
      const statuses = [...data.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
      if (statuses.length >= 2) {
        clearTimeout(timer);
        sock.destroy();
        const connection = /^Connection: (.*)$/im.exec(data)?.[1]?.trim() ?? "";
        resolve({ statuses, connection });
      }
    });
    sock.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
