/** Image records: list, show, create, update, replace, delete, clone, freeze, unfreeze. */
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { UsageError } from '../errors.js';
import { bytes, fields, table, time } from '../format.js';
import { contentEntries, type ImageList, type ImageRecord } from '../types.js';
import { intOption, type ContextOf } from './shared.js';

const text = (v: unknown): string => (v === undefined || v === null || v === '' ? '-' : String(v));

function contentSummary(record: ImageRecord): { size: string; fmt: string } {
  const first = contentEntries(record)[0];
  if (!first) return { size: '-', fmt: '-' };
  return { size: bytes(first[1].size), fmt: first[0] };
}

export function listTable(list: ImageList): string {
  const records = Object.values(list).sort((a, b) => a.name.localeCompare(b.name));
  const names = new Map(records.map((r) => [r.uid, r.name]));
  const rows = records.map((r) => {
    const c = contentSummary(r);
    const parent = r.parent ? (names.get(r.parent) ?? r.parent) : '-';
    return [r.name, r.uid, text(r.distro), parent, r.frozen ? 'yes' : 'no', c.size, time(r.last_modified), text(r.description)];
  });
  return table(['NAME', 'UID', 'DISTRO', 'PARENT', 'FROZEN', 'SIZE', 'MODIFIED', 'DESCRIPTION'], rows);
}

export function recordText(r: ImageRecord): string {
  const pairs: [string, string][] = [
    ['name', r.name],
    ['uid', r.uid],
    ['description', text(r.description)],
    ['distro', text(r.distro)],
    ['parent', text(r.parent)],
    ['frozen', r.frozen ? 'yes' : 'no'],
    ['modified', `${time(r.last_modified)} by ${text(r.last_modified_by)} on ${text(r.last_modified_on)}`],
  ];
  const content = contentEntries(r);
  if (content.length === 0) pairs.push(['content', '(none)']);
  for (const [fmt, c] of content) {
    pairs.push([`content`, `${fmt}, ${bytes(c.size)} (${c.size} bytes), ${c.chksum}, mtime ${time(c.mtime)}, file ${c.uid}`]);
  }
  const by = r.content?.['last_modified_by'];
  if (content.length > 0 && typeof r.content?.['last_modified'] === 'number') {
    pairs.push(['uploaded', `${time(r.content['last_modified'])} by ${text(by)} on ${text(r.content['last_modified_on'])}`]);
  }
  return fields(pairs);
}

const UPDATABLE = ['name', 'description', 'distro', 'parent', 'frozen'];

/** `key=value` pairs for update: `key=` clears a field, frozen takes true/false. */
export function parseAssignments(pairs: string[]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`"${pair}" is not key=value (e.g. description="Rocky 9 compute", distro=, frozen=true)`);
    const key = pair.slice(0, eq);
    if (!UPDATABLE.includes(key)) throw new UsageError(`"${key}" is not a field update can change; those are ${UPDATABLE.join(', ')}`);
    const value = pair.slice(eq + 1);
    if (key === 'frozen') {
      if (value !== 'true' && value !== 'false') throw new UsageError('frozen takes true or false');
      body[key] = value === 'true';
    } else {
      body[key] = value === '' ? null : value;
    }
  }
  return body;
}

interface FieldOptions {
  description?: string;
  parent?: string;
  distro?: string;
  frozen?: boolean;
}

const fieldBody = (name: string, o: FieldOptions): Record<string, unknown> => ({
  name,
  ...(o.description !== undefined ? { description: o.description } : {}),
  ...(o.parent !== undefined ? { parent: o.parent } : {}),
  ...(o.distro !== undefined ? { distro: o.distro } : {}),
  ...(o.frozen ? { frozen: true } : {}),
});

const withFields = (cmd: Command): Command =>
  cmd
    .option('--description <text>', 'what the image is for')
    .option('--parent <image>', 'the image this one derives from (UID or name)')
    .option('--distro <name>', 'distribution, e.g. rocky9')
    .option('--frozen', 'protect the image from changes and deletion');

export function register(program: Command, ctx: ContextOf): void {
  program
    .command('list')
    .alias('ls')
    .description('list images (every page), optionally filtered')
    .option('--name <name>', 'only the image with this name')
    .option('--parent <image>', 'only images whose parent is this image (UID or name)')
    .option('--distro <name>', 'only images with this distro')
    .option('--page-size <n>', 'images per request', intOption(1, 1000))
    .action(async (o: { name?: string; parent?: string; distro?: string; pageSize?: number }, cmd: Command) => {
      const c = ctx(cmd);
      const list = await (await c.api()).listAll({
        ...(o.name !== undefined ? { name: o.name } : {}),
        ...(o.parent !== undefined ? { parent: o.parent } : {}),
        ...(o.distro !== undefined ? { distro: o.distro } : {}),
        ...(o.pageSize !== undefined ? { limit: o.pageSize } : {}),
      });
      if (c.out.json) c.out.print(JSON.stringify(list, null, 2));
      else if (Object.keys(list).length === 0) c.out.note('no images');
      else c.out.print(listTable(list));
    });

  program
    .command('show')
    .description('show one image record')
    .argument('<image>', 'UID or name')
    .action(async (id: string, _o: object, cmd: Command) => {
      const c = ctx(cmd);
      const record = await (await c.api()).getImage(id);
      c.out.print(c.out.json ? JSON.stringify(record, null, 2) : recordText(record));
    });

  withFields(program.command('create').description('create an image record; prints its UID').argument('<name>', 'unique name')).action(
    async (name: string, o: FieldOptions, cmd: Command) => {
      const c = ctx(cmd);
      const uid = await (await c.api()).createImage(fieldBody(name, o));
      c.out.print(c.out.json ? JSON.stringify(uid) : uid);
    },
  );

  program
    .command('update')
    .description('change some fields: name=, description=, distro=, parent=, frozen=true|false (key= clears)')
    .argument('<image>', 'UID or name')
    .argument('<key=value...>', 'fields to set')
    .action(async (id: string, pairs: string[], _o: object, cmd: Command) => {
      const c = ctx(cmd);
      const record = await (await c.api()).patchImage(id, parseAssignments(pairs));
      printRecord(c, record, 'updated');
    });

  withFields(
    program
      .command('replace')
      .description('replace every editable field; fields not given are cleared')
      .argument('<image>', 'UID or name')
      .argument('<name>', 'the name (give the current one to keep it)'),
  ).action(async (id: string, name: string, o: FieldOptions, cmd: Command) => {
    const c = ctx(cmd);
    const record = await (await c.api()).replaceImage(id, fieldBody(name, o));
    printRecord(c, record, 'replaced');
  });

  program
    .command('delete')
    .alias('rm')
    .description('delete an image record (its content file goes when no clone uses it)')
    .argument('<image>', 'UID or name')
    .action(async (id: string, _o: object, cmd: Command) => {
      const c = ctx(cmd);
      const uid = await (await c.api()).deleteImage(id);
      if (c.out.json) c.out.print(JSON.stringify(uid));
      else c.out.note(`deleted ${id === uid ? uid : `${id} (${uid})`}`);
    });

  program
    .command('clone')
    .description('new image sharing the content of another; prints its UID')
    .argument('<image>', 'UID or name of the source')
    .argument('<name>', 'name of the new image')
    .option('--description <text>', 'what the clone is for')
    .action(async (id: string, name: string, o: { description?: string }, cmd: Command) => {
      const c = ctx(cmd);
      const uid = await (await c.api()).cloneImage(id, { name, ...(o.description !== undefined ? { description: o.description } : {}) });
      c.out.print(c.out.json ? JSON.stringify(uid) : uid);
    });

  for (const [verb, frozen] of [
    ['freeze', true],
    ['unfreeze', false],
  ] as const) {
    program
      .command(verb)
      .description(frozen ? 'protect an image from changes and deletion' : 'allow changes to an image again')
      .argument('<image>', 'UID or name')
      .action(async (id: string, _o: object, cmd: Command) => {
        const c = ctx(cmd);
        const record = await (await c.api()).patchImage(id, { frozen });
        printRecord(c, record, frozen ? 'froze' : 'unfroze');
      });
  }
}

function printRecord(c: Context, record: ImageRecord, verb: string): void {
  if (c.out.json) c.out.print(JSON.stringify(record, null, 2));
  else c.out.note(`${verb} ${record.name} (${record.uid})`);
}
