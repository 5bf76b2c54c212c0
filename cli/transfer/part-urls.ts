/**
 * The presigned part URLs of one upload session, renewed through the session
 * route (`GET …/content/upload/{upload_id}` hands out fresh ones) when they
 * are about to expire, or after S3 refused one. Parts sent in parallel share
 * one renewal at a time.
 */
import { Failure } from '../errors.js';
import type { UploadSession } from '../types.js';

/** Renew this long before expiry at most: S3 checks the expiry when a PUT arrives, and clocks drift. */
const MAX_MARGIN_S = 60;

export class PartUrls {
  private readonly urls = new Map<number, string>();
  private expires = 0;
  private margin = 0;
  private renewing: Promise<void> | undefined;

  constructor(
    session: UploadSession,
    private readonly describe: () => Promise<UploadSession>,
    private readonly log: (line: string) => void,
    private readonly now: () => number = () => Date.now() / 1000,
  ) {
    this.take(session);
  }

  /** A URL for part `n`, renewed first when the ones held are expired or close to it. */
  async urlFor(n: number): Promise<string> {
    if (!this.urls.has(n) || this.now() > this.expires - this.margin) await this.renew();
    const url = this.urls.get(n);
    if (url === undefined) throw new Failure(`the service gave no URL for part ${n}`);
    return url;
  }

  /** S3 refused part `n`'s URL: drop it and get fresh ones (shared with concurrent callers). */
  async refused(n: number): Promise<void> {
    this.urls.delete(n);
    await this.renew();
  }

  renew(): Promise<void> {
    this.renewing ??= (async () => {
      const fresh = await this.describe();
      if (fresh.state !== 'uploading') throw new Failure(`upload ${fresh.upload_id} is ${fresh.state}; it can no longer take parts`);
      this.take(fresh);
      this.log(`renewed ${fresh.parts?.length ?? 0} part URLs`);
    })().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private take(session: UploadSession): void {
    for (const p of session.parts ?? []) this.urls.set(p.part_number, p.url);
    this.expires = session.expires ?? 0;
    // A quarter of the URL's life when that is less than a minute: URLs that
    // live seconds (a short UPLOAD_URL_EXPIRY_SECONDS) would otherwise be
    // renewed before every part.
    this.margin = Math.min(MAX_MARGIN_S, Math.max(0, this.expires - this.now()) / 4);
  }
}
