// bench/heap-owners.mjs: what each session costs in the daemon's heap, by the structure that keeps
// it. Takes two heap snapshots of the daemon at two sizes (`npm run bench:cycle -- --daemon-sessions
// 1000,5000 --daemon-heap-snapshot DIR` writes them once every session is Pending) and prints, per
// session, the bytes each owner keeps: every object's size goes to its nearest dominator that is a
// field of a class instance (`StatusWriter.memo`, `ListWatch.objects`…), or to that instance.
// Run: node --max-old-space-size=8000 bench/heap-owners.mjs A.heapsnapshot B.heapsnapshot NA NB [rows]
import { readFileSync } from 'node:fs';

function owners(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const meta = snap.snapshot.meta;
  const NF = meta.node_fields.length;
  const EF = meta.edge_fields.length;
  const nTypeI = meta.node_fields.indexOf('type');
  const nNameI = meta.node_fields.indexOf('name');
  const nSizeI = meta.node_fields.indexOf('self_size');
  const nEdgeCountI = meta.node_fields.indexOf('edge_count');
  const eTypeI = meta.edge_fields.indexOf('type');
  const eNameI = meta.edge_fields.indexOf('name_or_index');
  const eToI = meta.edge_fields.indexOf('to_node');
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const { nodes, edges, strings } = snap;
  const N = nodes.length / NF;
  const firstEdge = new Uint32Array(N + 1);
  for (let i = 0, e = 0; i < N; i++) {
    firstEdge[i] = e;
    e += nodes[i * NF + nEdgeCountI] * EF;
  }
  firstEdge[N] = edges.length;
  const weak = edgeTypes.indexOf('weak');
  const shortcut = edgeTypes.indexOf('shortcut');
  const typeOf = (i) => nodeTypes[nodes[i * NF + nTypeI]];
  const nameOf = (i) => strings[nodes[i * NF + nNameI]];
  const selfSize = (i) => nodes[i * NF + nSizeI];
  const label = (i) => {
    const t = typeOf(i);
    if (t === 'object' || t === 'closure' || t === 'native') return `${t === 'object' ? '' : `(${t}) `}${nameOf(i)}`;
    if (t === 'string' || t === 'concatenated string' || t === 'sliced string') return '(string)';
    if (t === 'code') return '(code)';
    if (t === 'array') return `(array ${nameOf(i)})`;
    if (t === 'hidden') return `(hidden ${nameOf(i)})`;
    return `(${t})`;
  };
  const edgeName = (e) => {
    const t = edgeTypes[edges[e + eTypeI]];
    const n = edges[e + eNameI];
    return t === 'element' || t === 'hidden' ? `[${n}]` : String(strings[n]);
  };

  // Postorder DFS from root 0 over non-weak edges.
  const order = new Int32Array(N).fill(-1); // postorder index
  const post = new Int32Array(N);
  let count = 0;
  {
    const stack = new Int32Array(N);
    const iter = new Uint32Array(N);
    const visited = new Uint8Array(N);
    let sp = 0;
    stack[sp++] = 0;
    visited[0] = 1;
    iter[0] = firstEdge[0];
    while (sp) {
      const v = stack[sp - 1];
      let e = iter[v];
      let pushed = false;
      for (; e < firstEdge[v + 1]; e += EF) {
        const t = edges[e + eTypeI];
        if (t === weak || t === shortcut) continue;
        const w = edges[e + eToI] / NF;
        if (!visited[w]) {
          visited[w] = 1;
          iter[v] = e + EF;
          iter[w] = firstEdge[w];
          stack[sp++] = w;
          pushed = true;
          break;
        }
      }
      if (!pushed) {
        sp--;
        order[v] = count;
        post[count++] = v;
      }
    }
  }
  // Predecessors (reverse edges) for reachable nodes.
  const predCount = new Uint32Array(N + 1);
  for (let v = 0; v < N; v++) {
    if (order[v] < 0) continue;
    for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += EF) {
      const t = edges[e + eTypeI];
      if (t === weak || t === shortcut) continue;
      predCount[edges[e + eToI] / NF + 1]++;
    }
  }
  for (let i = 0; i < N; i++) predCount[i + 1] += predCount[i];
  const preds = new Int32Array(predCount[N]);
  const fill = predCount.slice();
  for (let v = 0; v < N; v++) {
    if (order[v] < 0) continue;
    for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += EF) {
      const t = edges[e + eTypeI];
      if (t === weak || t === shortcut) continue;
      const w = edges[e + eToI] / NF;
      preds[fill[w]++] = v;
    }
  }
  // Cooper-Harvey-Kennedy on postorder indices.
  const idom = new Int32Array(count).fill(-1); // by postorder index
  const root = order[0];
  idom[root] = root;
  let changed = true;
  while (changed) {
    changed = false;
    for (let k = count - 1; k >= 0; k--) {
      if (k === root) continue;
      const v = post[k];
      let nd = -1;
      for (let p = predCount[v]; p < predCount[v + 1]; p++) {
        const u = order[preds[p]];
        if (u < 0 || idom[u] < 0) continue;
        if (nd < 0) nd = u;
        else {
          let a = u;
          let b = nd;
          while (a !== b) {
            while (a < b) a = idom[a];
            while (b < a) b = idom[b];
          }
          nd = a;
        }
      }
      if (nd >= 0 && idom[k] !== nd) {
        idom[k] = nd;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(N);
  for (let k = 0; k < count; k++) retained[post[k]] = selfSize(post[k]);
  for (let k = 0; k < count; k++) if (k !== root) retained[post[idom[k]]] += retained[post[k]];

  const BUILTIN = new Set([
    'Object',
    'Array',
    'Map',
    'Set',
    'Promise',
    'WeakMap',
    'WeakSet',
    'Error',
    'Generator',
    'Module',
    'ModuleWrap',
    'ModuleJob',
    'BuiltinModule',
    'process',
    'EventEmitter',
    'Timeout',
    'TimersList',
  ]);
  const isClass = (v) =>
    typeOf(v) === 'object' && /^[A-Z]/.test(nameOf(v)) && !BUILTIN.has(nameOf(v)) && !nameOf(v).startsWith('system') && !nameOf(v).startsWith('Node');
  const directEdge = (d, v) => {
    for (let e = firstEdge[d]; e < firstEdge[d + 1]; e += EF) if (edges[e + eToI] / NF === v) return edgeName(e);
    return '(indirect)';
  };
  const owner = new Array(count);
  owner[root] = '(root)';
  for (let k = count - 1; k >= 0; k--) {
    if (k === root) continue;
    const v = post[k];
    const d = post[idom[k]];
    const up = owner[idom[k]];
    if (isClass(d) && !isClass(v)) owner[k] = `${nameOf(d)}.${directEdge(d, v)}`;
    else if (isClass(v)) owner[k] = up.startsWith('(') || up.startsWith('top:') ? nameOf(v) : up.split('.')[0] === nameOf(v) ? up : nameOf(v);
    else if (up === '(root)') owner[k] = `top:${label(v)}`;
    else owner[k] = up;
  }
  const sums = new Map();
  for (let k = 0; k < count; k++) sums.set(owner[k], (sums.get(owner[k]) ?? 0) + selfSize(post[k]));
  return sums;
}

const [fa, fb, na, nb, rows = '30'] = process.argv.slice(2);
if (!fa || !fb || !na || !nb) throw new Error('usage: heap-owners.mjs A.heapsnapshot B.heapsnapshot NA NB [rows]');
const a = owners(fa);
const b = owners(fb);
const per = Number(nb) - Number(na);
const diff = [...new Set([...a.keys(), ...b.keys()])].map((k) => [k, ((b.get(k) ?? 0) - (a.get(k) ?? 0)) / per, b.get(k) ?? 0]);
diff.sort((x, y) => y[1] - x[1]);
const total = (m) => [...m.values()].reduce((s, v) => s + v, 0);
console.log(
  `heap ${(total(a) / 2 ** 20).toFixed(1)} MiB at ${na}, ${(total(b) / 2 ** 20).toFixed(1)} MiB at ${nb}: ${((total(b) - total(a)) / per).toFixed(0)} B per session`,
);
for (const [k, d, t] of diff.slice(0, Number(rows)))
  console.log(`${d.toFixed(0).padStart(7)} B/session ${(t / 2 ** 20).toFixed(2).padStart(8)} MiB at ${nb}  ${k}`);
