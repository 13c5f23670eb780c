// Just enough of Kubernetes' protobuf encoding to read the bodies kubectl's typed `create`
// subcommands send (`kubectl create namespace|secret|configmap|serviceaccount`): the `k8s\0`
// envelope (runtime.Unknown) and the fields of those four kinds. Anything else is refused with 415.
import { ApiError } from './errors.ts';
import type { Obj } from './store.ts';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Field = { no: number; wire: number; int?: bigint; bytes?: Buffer };

function varint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [result, pos];
    shift += 7n;
  }
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [key, p1] = varint(buf, pos);
    pos = p1;
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, p2] = varint(buf, pos);
      pos = p2;
      out.push({ no, wire, int: v });
    } else if (wire === 2) {
      const [len, p2] = varint(buf, pos);
      const end = p2 + Number(len);
      out.push({ no, wire, bytes: buf.subarray(p2, end) });
      pos = end;
    } else if (wire === 1) {
      out.push({ no, wire, int: buf.readBigUInt64LE(pos) });
      pos += 8;
    } else if (wire === 5) {
      out.push({ no, wire, int: BigInt(buf.readUInt32LE(pos)) });
      pos += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

const str = (f: Field): string => f.bytes!.toString('utf8');

function map(fs: Field[], no: number, asBase64: boolean): Record<string, string> | undefined {
  const entries = fs.filter((f) => f.no === no);
  if (!entries.length) return undefined;
  const out: Record<string, string> = {};
  for (const e of entries) {
    const kv = fields(e.bytes!);
    const k = kv.find((x) => x.no === 1);
    const v = kv.find((x) => x.no === 2);
    out[k ? str(k) : ''] = v ? (asBase64 ? v.bytes!.toString('base64') : str(v)) : '';
  }
  return out;
}

function objectMeta(buf: Buffer): Record<string, unknown> {
  const fs = fields(buf);
  const meta: Record<string, unknown> = {};
  const s = (no: number, name: string): void => {
    const f = fs.find((x) => x.no === no);
    if (f) meta[name] = str(f);
  };
  s(1, 'name');
  s(2, 'generateName');
  s(3, 'namespace');
  s(6, 'resourceVersion');
  const labels = map(fs, 11, false);
  if (labels) meta.labels = labels;
  const annotations = map(fs, 12, false);
  if (annotations) meta.annotations = annotations;
  const owners = fs
    .filter((f) => f.no === 13)
    .map((f) => {
      const o = fields(f.bytes!);
      const get = (n: number): string | undefined => {
        const x = o.find((y) => y.no === n);
        return x ? str(x) : undefined;
      };
      const flag = (n: number): boolean | undefined => {
        const x = o.find((y) => y.no === n);
        return x ? x.int === 1n : undefined;
      };
      return JSON.parse(JSON.stringify({ apiVersion: get(5), kind: get(1), name: get(3), uid: get(4), controller: flag(6), blockOwnerDeletion: flag(7) }));
    });
  if (owners.length) meta.ownerReferences = owners;
  const finalizers = fs.filter((f) => f.no === 14).map(str);
  if (finalizers.length) meta.finalizers = finalizers;
  return meta;
}

function bool(fs: Field[], no: number): boolean | undefined {
  const f = fs.find((x) => x.no === no);
  return f ? f.int === 1n : undefined;
}

function decodeKind(kind: string, raw: Buffer): Obj | undefined {
  const fs = fields(raw);
  const metaField = fs.find((f) => f.no === 1);
  const metadata = metaField ? objectMeta(metaField.bytes!) : {};
  const o: Record<string, unknown> = { metadata };
  switch (kind) {
    case 'Namespace': {
      const spec = fs.find((f) => f.no === 2);
      const fin = spec
        ? fields(spec.bytes!)
            .filter((f) => f.no === 1)
            .map(str)
        : [];
      if (fin.length) o.spec = { finalizers: fin };
      break;
    }
    case 'Secret': {
      const data = map(fs, 2, true);
      if (data) o.data = data;
      const type = fs.find((f) => f.no === 3);
      if (type) o.type = str(type);
      const stringData = map(fs, 4, false);
      if (stringData) o.stringData = stringData;
      if (bool(fs, 5) !== undefined) o.immutable = bool(fs, 5);
      break;
    }
    case 'ConfigMap': {
      const data = map(fs, 2, false);
      if (data) o.data = data;
      const binary = map(fs, 3, true);
      if (binary) o.binaryData = binary;
      if (bool(fs, 4) !== undefined) o.immutable = bool(fs, 4);
      break;
    }
    case 'ServiceAccount': {
      const pulls = fs.filter((f) => f.no === 3).map((f) => ({ name: str(fields(f.bytes!).find((x) => x.no === 1)!) }));
      if (pulls.length) o.imagePullSecrets = pulls;
      if (bool(fs, 4) !== undefined) o.automountServiceAccountToken = bool(fs, 4);
      break;
    }
    default:
      return undefined;
  }
  return o as Obj;
}

/** Decodes a protobuf request body of a supported kind, or throws 415. */
export function decodeProtobuf(body: Buffer): Obj {
  const refuse = (what: string): ApiError =>
    new ApiError(
      415,
      'UnsupportedMediaType',
      `the sandbox reads protobuf only for Namespace, Secret, ConfigMap and ServiceAccount (got ${what}); send JSON or YAML instead, e.g. kubectl apply -f`,
    );
  if (!body.subarray(0, 4).equals(MAGIC)) throw refuse('a body without the k8s protobuf envelope');
  const unknown = fields(body.subarray(4));
  const typeMeta = unknown.find((f) => f.no === 1);
  const raw = unknown.find((f) => f.no === 2);
  const tm = typeMeta ? fields(typeMeta.bytes!) : [];
  const apiVersion = tm.find((f) => f.no === 1);
  const kindField = tm.find((f) => f.no === 2);
  const kind = kindField ? str(kindField) : '';
  const decoded = raw ? decodeKind(kind, raw.bytes!) : undefined;
  if (!decoded) throw refuse(kind || 'an unknown kind');
  return { apiVersion: apiVersion ? str(apiVersion) : 'v1', kind, ...decoded } as Obj;
}
