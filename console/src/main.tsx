/** The web console: image records and their content, over the same API as curl and imgctl. */
import { render } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Api, ApiError, type ContentInfo, enc, type Image } from './api.js';
import {
  currentToken,
  finishCognitoSignIn,
  forgetTokens,
  keepTokens,
  type Session,
  sessionOf,
  signOut,
  startCognitoSignIn,
  storedSession,
} from './auth.js';
import { type ConsoleConfig, parseConfig } from './config.js';
import { type Progress, savedUpload, Upload } from './upload.js';

/* Formatting */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
export function bytes(n: number): string {
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${UNITS[i]}`;
}
const when = (epochSeconds: number | undefined): string =>
  epochSeconds === undefined
    ? ''
    : new Date(epochSeconds * 1000)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC');
const duration = (s: number | undefined): string =>
  s === undefined || !Number.isFinite(s) ? '…' : s < 60 ? `${Math.ceil(s)} s` : `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;

/* Routing: #/ (list), #/new, #/image/<uid> */

type Route = { view: 'list' } | { view: 'new' } | { view: 'image'; id: string };
function parseRoute(): Route {
  const m = /^#\/image\/([^/]+)$/.exec(location.hash);
  if (m?.[1]) return { view: 'image', id: decodeURIComponent(m[1]) };
  if (location.hash === '#/new') return { view: 'new' };
  return { view: 'list' };
}
const go = (hash: string): void => {
  location.hash = hash;
};

function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof ApiError ? `${error.message} (HTTP ${error.status})` : String((error as Error).message ?? error);
  return <p role="alert">{message}</p>;
}

/** A button that runs an async action, shows its error, and is disabled while it runs. */
function useAction(): [boolean, unknown, (fn: () => Promise<unknown>) => Promise<void>, (e: unknown) => void] {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }, []);
  return [busy, error, run, setError];
}

/* Sign-in */

function SignIn({ config, onToken, note }: { config: ConsoleConfig; onToken: (t: string) => Promise<void>; note: string | undefined }) {
  const [token, setToken] = useState('');
  const [busy, error, run] = useAction();
  if (config.auth.kind === 'cognito') {
    const auth = config.auth;
    return (
      <main>
        <h2>Sign in</h2>
        {note && <p role="alert">{note}</p>}
        <button type="button" onClick={() => run(() => startCognitoSignIn(auth))} disabled={busy}>
          Sign in with Cognito
        </button>
        <ErrorNote error={error} />
      </main>
    );
  }
  return (
    <main>
      <h2>Sign in</h2>
      {note && <p role="alert">{note}</p>}
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void run(() => onToken(token.trim()));
        }}
      >
        <label>
          Token
          <input
            name="token"
            type="password"
            autoComplete="off"
            size={60}
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
            required
          />
        </label>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      <p class="muted">
        Get a token with <code>npm run token -- --user NAME</code> (add <code>--admin</code> to make changes).
      </p>
      <ErrorNote error={error} />
    </main>
  );
}

/* List */

const PAGE_SIZES = [10, 25, 100];

function ImageList({ api, admin }: { api: Api; admin: boolean }) {
  const [filters, setFilters] = useState({ name: '', parent: '', distro: '' });
  const [form, setForm] = useState(filters);
  const [limit, setLimit] = useState(25);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<{ images: Image[]; next?: string } | null>(null);
  const [, error, run] = useAction();
  const cursor = cursors[cursors.length - 1];

  useEffect(() => {
    void run(async () => {
      const q = new URLSearchParams({ limit: String(limit) });
      if (cursor) q.set('next', cursor);
      for (const [k, v] of Object.entries(filters)) if (v.trim()) q.set(k, v.trim());
      const res = await api.get<Record<string, Image>>(`/images?${q}`);
      setPage({ images: Object.values(res.data), ...(res.next ? { next: res.next } : {}) });
    });
  }, [api, filters, limit, cursor, run]);

  return (
    <main>
      <div class="row">
        <h2 style="flex:1">Images</h2>
        {admin && (
          <button type="button" onClick={() => go('#/new')}>
            New image
          </button>
        )}
      </div>
      {/* biome-ignore lint/a11y/useSemanticElements: a form with role=search is the pattern every browser and screen reader supports; <search> is recent */}
      <form
        class="row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setCursors([undefined]);
          setFilters(form);
        }}
      >
        <label>
          Name
          <input name="name" value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />
        </label>
        <label>
          Parent (UID or name)
          <input name="parent" value={form.parent} onInput={(e) => setForm({ ...form, parent: e.currentTarget.value })} />
        </label>
        <label>
          Distro
          <input name="distro" value={form.distro} onInput={(e) => setForm({ ...form, distro: e.currentTarget.value })} />
        </label>
        <button type="submit">Search</button>
        <label>
          Per page
          <select
            value={limit}
            onChange={(e) => {
              setCursors([undefined]);
              setLimit(Number(e.currentTarget.value));
            }}
          >
            {PAGE_SIZES.map((n) => (
              <option value={n}>{n}</option>
            ))}
          </select>
        </label>
      </form>
      <ErrorNote error={error} />
      {page && (
        <>
          <table>
            <caption class="sr-only">Images, by name</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Distro</th>
                <th scope="col">Content</th>
                <th scope="col">Frozen</th>
                <th scope="col">Last modified</th>
              </tr>
            </thead>
            <tbody>
              {page.images.map((img) => (
                <tr key={img.uid}>
                  <td>
                    <a href={`#/image/${img.uid}`}>{img.name}</a>
                  </td>
                  <td>{img.distro ?? ''}</td>
                  <td>{contentSummary(img)}</td>
                  <td>{img.frozen ? 'frozen' : ''}</td>
                  <td>
                    {when(img.last_modified)} by {img.last_modified_by}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {page.images.length === 0 && <p>No images match.</p>}
          <nav class="row" aria-label="Pages">
            <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous page
            </button>
            <span>Page {cursors.length}</span>
            <button type="button" disabled={!page.next} onClick={() => page.next && setCursors([...cursors, page.next])}>
              Next page
            </button>
          </nav>
        </>
      )}
    </main>
  );
}

function contentEntries(img: Image): [string, { size: number; mtime: number; chksum: string; filename: string; uid: string }][] {
  return Object.entries(img.content).filter(
    (e): e is [string, { size: number; mtime: number; chksum: string; filename: string; uid: string }] =>
      typeof e[1] === 'object' && e[1] !== null,
  );
}
const contentSummary = (img: Image): string =>
  contentEntries(img)
    .map(([fmt, c]) => `${fmt}, ${bytes(c.size)}`)
    .join('; ');

/* Create and edit */

interface Fields {
  name: string;
  description: string;
  distro: string;
  parent: string;
  frozen: boolean;
}
const fieldsOf = (img?: Image): Fields => ({
  name: img?.name ?? '',
  description: img?.description ?? '',
  distro: img?.distro ?? '',
  parent: img?.parent ?? '',
  frozen: img?.frozen ?? false,
});
/** Empty text clears a field (the API spells "unset" as null). */
const bodyOf = (f: Fields) => ({
  name: f.name.trim(),
  description: f.description === '' ? null : f.description,
  distro: f.distro.trim() === '' ? null : f.distro.trim(),
  parent: f.parent.trim() === '' ? null : f.parent.trim(),
  frozen: f.frozen,
});

function ImageForm(props: { initial: Fields; submitLabel: string; onSubmit: (f: Fields) => Promise<void>; onCancel: () => void }) {
  const [f, setF] = useState(props.initial);
  const [busy, error, run] = useAction();
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void run(() => props.onSubmit(f));
      }}
    >
      <div class="row">
        <label>
          Name
          <input name="name" required value={f.name} onInput={(e) => setF({ ...f, name: e.currentTarget.value })} />
        </label>
        <label>
          Distro
          <input name="distro" value={f.distro} onInput={(e) => setF({ ...f, distro: e.currentTarget.value })} />
        </label>
        <label>
          Parent (UID or name)
          <input name="parent" value={f.parent} onInput={(e) => setF({ ...f, parent: e.currentTarget.value })} />
        </label>
        <label class="check">
          <input type="checkbox" name="frozen" checked={f.frozen} onChange={(e) => setF({ ...f, frozen: e.currentTarget.checked })} />
          Frozen
        </label>
      </div>
      <label>
        Description
        <textarea
          name="description"
          rows={3}
          cols={60}
          value={f.description}
          onInput={(e) => setF({ ...f, description: e.currentTarget.value })}
        />
      </label>
      <div class="row">
        <button type="submit" disabled={busy}>
          {props.submitLabel}
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

function NewImage({ api }: { api: Api }) {
  return (
    <main>
      <h2>New image</h2>
      <ImageForm
        initial={fieldsOf()}
        submitLabel="Create"
        onCancel={() => go('#/')}
        onSubmit={async (f) => {
          const { data } = await api.call<string>('POST', '/images', bodyOf(f));
          go(`#/image/${data}`);
        }}
      />
    </main>
  );
}

/* Detail */

function ImageView({ api, admin, id }: { api: Api; admin: boolean; id: string }) {
  const [image, setImage] = useState<{ record: Image; etag: string | null } | null>(null);
  const [info, setInfo] = useState<ContentInfo | null>(null);
  const [stat, setStat] = useState<{ size: number; mtime: number } | null>(null);
  const [clones, setClones] = useState<Image[]>([]);
  const [parent, setParent] = useState<Image | null>(null);
  const [mode, setMode] = useState<'view' | 'edit' | 'clone'>('view');
  const [loadError, setLoadError] = useState<unknown>(null);
  const [busy, error, run] = useAction();

  const load = useCallback(async () => {
    try {
      const res = await api.get<Image>(`/image/${enc(id)}`);
      const record = res.data;
      setImage({ record, etag: res.etag });
      setLoadError(null);
      const hasContent = contentEntries(record).length > 0;
      const [i, s, children, p] = await Promise.all([
        hasContent ? api.get<ContentInfo>(`/image/${enc(record.uid)}/content/info`).then((r) => r.data) : null,
        hasContent ? api.get<{ size: number; mtime: number }>(`/image/${enc(record.uid)}/content/stat`).then((r) => r.data) : null,
        api.get<Record<string, Image>>(`/images?parent=${enc(record.uid)}&limit=100`).then((r) => Object.values(r.data)),
        record.parent
          ? api.get<Image>(`/image/${enc(record.parent)}`).then(
              (r) => r.data,
              () => null,
            )
          : null,
      ]);
      setInfo(i);
      setStat(s);
      setClones(children);
      setParent(p);
    } catch (e) {
      setLoadError(e);
    }
  }, [api, id]);

  useEffect(() => {
    setMode('view');
    void load();
  }, [load]);

  if (loadError)
    return (
      <main>
        <ErrorNote error={loadError} />
        <a href="#/">Back to the list</a>
      </main>
    );
  if (!image)
    return (
      <main>
        <p role="status">Loading…</p>
      </main>
    );
  const img = image.record;
  const ifMatch: Record<string, string> = image.etag ? { 'if-match': image.etag } : {};
  const path = `/image/${enc(img.uid)}`;

  const download = () =>
    run(async () => {
      const { data } = await api.get<{ url: string }>(`${path}/content?redirect=false`);
      // The presigned URL answers with Content-Disposition: attachment, so this downloads.
      const a = document.createElement('a');
      a.href = data.url;
      a.rel = 'noopener';
      document.body.append(a);
      a.click();
      a.remove();
    });

  return (
    <main>
      <p>
        <a href="#/">← Images</a>
      </p>
      <h2>{img.name}</h2>
      <dl aria-label="Record">
        <dt>UID</dt>
        <dd class="mono">{img.uid}</dd>
        <dt>Name</dt>
        <dd>{img.name}</dd>
        <dt>Description</dt>
        <dd style="white-space: pre-wrap">{img.description ?? '—'}</dd>
        <dt>Distro</dt>
        <dd>{img.distro ?? '—'}</dd>
        <dt>Frozen</dt>
        <dd>{img.frozen ? 'yes' : 'no'}</dd>
        <dt>Parent</dt>
        <dd>{img.parent ? <a href={`#/image/${img.parent}`}>{parent?.name ?? img.parent}</a> : '—'}</dd>
        <dt>Last modified</dt>
        <dd>
          {when(img.last_modified)} by {img.last_modified_by} on {img.last_modified_on}
        </dd>
        <dt>Version (ETag)</dt>
        <dd class="mono">{image.etag ?? ''}</dd>
      </dl>

      {admin && mode === 'view' && (
        // biome-ignore lint/a11y/useSemanticElements: a group of action buttons, not form fields: a fieldset would imply a form
        <div class="row" role="group" aria-label="Actions">
          <button type="button" onClick={() => setMode('edit')} disabled={img.frozen}>
            Edit
          </button>
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              run(async () => {
                await api.call('PATCH', path, { frozen: !img.frozen }, ifMatch);
                await load();
              })
            }
          >
            {img.frozen ? 'Unfreeze' : 'Freeze'}
          </button>
          <button type="button" onClick={() => setMode('clone')}>
            Clone
          </button>
          <button
            type="button"
            class="danger"
            disabled={busy}
            onClick={() =>
              confirm(`Delete image "${img.name}"?`) &&
              run(async () => {
                await api.call('DELETE', path, undefined, ifMatch);
                go('#/');
              })
            }
          >
            Delete image
          </button>
        </div>
      )}
      <ErrorNote error={error} />
      {mode === 'edit' && (
        <section aria-label="Edit">
          <h3>Edit</h3>
          <ImageForm
            initial={fieldsOf(img)}
            submitLabel="Save"
            onCancel={() => setMode('view')}
            onSubmit={async (f) => {
              await api.call('PUT', path, bodyOf(f), ifMatch);
              setMode('view');
              await load();
            }}
          />
        </section>
      )}
      {mode === 'clone' && (
        <section aria-label="Clone">
          <h3>Clone</h3>
          <CloneForm
            onCancel={() => setMode('view')}
            onSubmit={async (name, description) => {
              const { data } = await api.call<string>('POST', `${path}/clone`, {
                name,
                ...(description ? { description } : {}),
              });
              go(`#/image/${data}`);
            }}
          />
        </section>
      )}

      <section aria-labelledby="content-title">
        <h3 id="content-title">Content</h3>
        {contentEntries(img).length === 0 ? (
          <p>No content yet.</p>
        ) : (
          contentEntries(img).map(([fmt, c]) => (
            <dl aria-label={`Content ${fmt}`}>
              <dt>Format</dt>
              <dd>{fmt}</dd>
              <dt>Size</dt>
              <dd>
                {bytes(c.size)} ({c.size} bytes)
              </dd>
              <dt>Checksum</dt>
              <dd class="mono">{c.chksum}</dd>
              <dt>File</dt>
              <dd class="mono">
                {c.filename} ({c.uid})
              </dd>
              <dt>Modified</dt>
              <dd>{when(c.mtime)}</dd>
              {info && (
                <>
                  <dt>Images sharing the file</dt>
                  <dd>{info.refcnt}</dd>
                </>
              )}
              {stat && (
                <>
                  <dt>Stat</dt>
                  <dd>
                    size {stat.size}, mtime {when(stat.mtime)}
                  </dd>
                </>
              )}
            </dl>
          ))
        )}
        <div class="row">
          {contentEntries(img).length > 0 && (
            <button type="button" onClick={download} disabled={busy}>
              Download
            </button>
          )}
          {admin && contentEntries(img).length > 0 && (
            <button
              type="button"
              class="danger"
              disabled={busy || img.frozen}
              onClick={() =>
                confirm(`Remove the content of "${img.name}"?`) &&
                run(async () => {
                  await api.call('DELETE', `${path}/content`, undefined, ifMatch);
                  await load();
                })
              }
            >
              Remove content
            </button>
          )}
        </div>
        {admin && !img.frozen && <UploadPanel api={api} image={img.uid} onDone={load} />}
      </section>

      <section aria-labelledby="children-title">
        <h3 id="children-title">Children</h3>
        <p class="muted">Images that name this one as their parent (clones among them).</p>
        {clones.length === 0 ? (
          <p>None.</p>
        ) : (
          <ul>
            {clones.map((c) => (
              <li key={c.uid}>
                <a href={`#/image/${c.uid}`}>{c.name}</a>
              </li>
            ))}
          </ul>
        )}
      </section>
    </main>
  );
}

function CloneForm({ onSubmit, onCancel }: { onSubmit: (name: string, description: string) => Promise<void>; onCancel: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [busy, error, run] = useAction();
  return (
    <form
      class="row"
      onSubmit={(e) => {
        e.preventDefault();
        void run(() => onSubmit(name.trim(), description));
      }}
    >
      <label>
        Name of the clone
        <input name="clone-name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Description of the clone
        <input name="clone-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={busy}>
        Create clone
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

/* Upload */

const PHASE: Record<Progress['phase'], string> = {
  starting: 'Starting…',
  uploading: 'Uploading',
  completing: 'Completing the upload…',
  checking: 'The service is checking the file (sha1, size, format)…',
  ready: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

function UploadPanel({ api, image, onDone }: { api: Api; image: string; onDone: () => Promise<void> }) {
  const [file, setFile] = useState<File | null>(null);
  const [fmt, setFmt] = useState('');
  const [progress, setProgress] = useState<Progress | null>(null);
  const [checkStart, setCheckStart] = useState(0);
  const [now, setNow] = useState(0);
  const upload = useRef<Upload | null>(null);
  const saved = savedUpload(image);
  const running = progress !== null && ['starting', 'uploading', 'completing', 'checking'].includes(progress.phase);

  useEffect(() => {
    if (progress?.phase !== 'checking') return;
    const t = setInterval(() => setNow(performance.now()), 250);
    return () => clearInterval(t);
  }, [progress?.phase]);

  const start = async () => {
    if (!file) return;
    const u = new Upload(api, image, file, fmt.trim() || undefined, (p) => {
      setProgress((old) => {
        if (p.phase === 'checking' && old?.phase !== 'checking') setCheckStart(performance.now());
        return p;
      });
    });
    upload.current = u;
    const result = await u.run();
    if (result.phase === 'ready') await onDone();
  };

  return (
    <form
      aria-label="Upload content"
      onSubmit={(e) => {
        e.preventDefault();
        void start();
      }}
    >
      <h4>Upload content</h4>
      {saved && !running && (
        <p role="note">
          An upload of <strong>{saved.name}</strong> ({bytes(saved.size)}) was interrupted. Choose the same file again to send only the
          parts that are missing.
        </p>
      )}
      <div class="row">
        <label>
          Content file
          <input type="file" name="file" disabled={running} onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
        </label>
        <label>
          Format (optional)
          <input name="fmt" placeholder="cwsquash" value={fmt} disabled={running} onInput={(e) => setFmt(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={!file || running}>
          Upload
        </button>
        {running && progress.phase !== 'checking' && (
          <button type="button" onClick={() => void upload.current?.cancel()}>
            Cancel upload
          </button>
        )}
      </div>
      {progress && (
        <div aria-live="polite">
          {progress.phase === 'checking' ? (
            progress.hashed === undefined ? (
              <progress aria-label="Check progress" />
            ) : (
              <progress aria-label="Check progress" max={progress.total} value={progress.hashed} />
            )
          ) : (
            <progress aria-label="Upload progress" max={progress.total} value={progress.sent} />
          )}
          <p role="status" data-phase={progress.phase}>
            {PHASE[progress.phase]}
            {progress.phase === 'uploading' &&
              ` ${bytes(progress.sent)} of ${bytes(progress.total)}, ${bytes(progress.rate)}/s, ${duration(progress.eta)} left`}
            {progress.phase === 'checking' &&
              `${progress.hashed !== undefined ? ` ${bytes(progress.hashed)} of ${bytes(progress.total)} hashed,` : ''} ${duration((now - checkStart) / 1000)} so far`}
            {progress.resumedParts > 0 && ` (resumed: ${progress.resumedParts} of ${progress.partCount} parts were already uploaded)`}
          </p>
          {progress.phase === 'ready' && (
            <p>
              sha1:{' '}
              <output class="mono" aria-label="sha1">
                {progress.sha1}
              </output>
            </p>
          )}
          {progress.phase === 'failed' && <p role="alert">{progress.reason}</p>}
        </div>
      )}
    </form>
  );
}

/* The app */

function App({ config }: { config: ConsoleConfig }) {
  const [session, setSession] = useState<Session | undefined>(() => storedSession(config));
  const [note, setNote] = useState<string | undefined>();
  const [route, setRoute] = useState(parseRoute);

  useEffect(() => {
    const onHash = () => setRoute(parseRoute());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    if (config.auth.kind !== 'cognito' || session) return;
    finishCognitoSignIn(config.auth).then(
      (tokens) => {
        if (!tokens) return;
        keepTokens(tokens);
        setNote(undefined);
        setSession(sessionOf(tokens.token, config));
      },
      (e: Error) => setNote(e.message),
    );
  }, [config, session]);

  // One client per sign-in; it asks auth.ts for the token at every call, so a renewed token is used at once.
  const api = useMemo(
    () =>
      session &&
      new Api(
        config.api,
        () => currentToken(config),
        (reason) => {
          forgetTokens();
          setNote(`Signed out: ${reason}`);
          setSession(undefined);
        },
      ),
    [config, session],
  );

  const onToken = async (token: string) => {
    const s = sessionOf(token, config);
    // Ask the API once, so a wrong token is refused here with its reason.
    await new Api(
      config.api,
      async () => token,
      () => undefined,
    ).get('/images?limit=1');
    keepTokens({ token });
    setNote(undefined);
    setSession(s);
  };

  return (
    <>
      <header>
        <h1>
          <a href="#/">Image Service</a>
        </h1>
        <a href="reference/">API reference</a>
        {session && (
          <>
            <span>
              {session.user} ({session.admin ? 'admin' : 'reader'})
            </span>
            <button
              type="button"
              onClick={() => {
                setSession(undefined);
                void signOut(config);
              }}
            >
              Sign out
            </button>
          </>
        )}
      </header>
      {!session || !api ? (
        <SignIn config={config} onToken={onToken} note={note} />
      ) : route.view === 'image' ? (
        <ImageView key={route.id} api={api} admin={session.admin} id={route.id} />
      ) : route.view === 'new' && session.admin ? (
        <NewImage api={api} />
      ) : (
        <ImageList api={api} admin={session.admin} />
      )}
    </>
  );
}

async function loadConfig(): Promise<ConsoleConfig> {
  const res = await fetch('config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`config.json: ${res.status}`);
  return parseConfig(await res.json());
}

const root = document.getElementById('app');
if (root) {
  loadConfig().then(
    (config) => render(<App config={config} />, root),
    (e: Error) => {
      root.textContent = `The console cannot start: ${e.message}`;
    },
  );
}
