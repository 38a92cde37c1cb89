// A small fluent helper over the ONNX messages: name values automatically, add constants and
// weights as initializers, and keep graph-building code readable as equations.
import {
  type Attr,
  DataType,
  type Dim,
  type Graph,
  type Model,
  type Node,
  type Tensor,
  type ValueInfo,
  encodeModel,
} from './proto';

export type AttrValue = number | string | number[] | Graph | { float: number } | { floats: number[] };

function toAttr(v: AttrValue): Attr {
  if (typeof v === 'number') return { kind: 'int', value: v };
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (Array.isArray(v)) return { kind: 'ints', value: v };
  if ('float' in v) return { kind: 'float', value: v.float };
  if ('floats' in v) return { kind: 'floats', value: v.floats };
  return { kind: 'graph', value: v };
}

export function floatTensor(name: string, data: Float32Array, dims: number[]): Tensor {
  return { name, dataType: DataType.FLOAT, dims, raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export function int8Tensor(name: string, data: Int8Array, dims: number[]): Tensor {
  return { name, dataType: DataType.INT8, dims, raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export function int64Tensor(name: string, values: number[], dims = [values.length]): Tensor {
  const data = new BigInt64Array(values.map((v) => BigInt(v)));
  return { name, dataType: DataType.INT64, dims, raw: new Uint8Array(data.buffer) };
}

export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private counter = 0;
  private constants = new Map<string, string>();

  /** `prefix` keeps a subgraph's value names apart from its parent's (ONNX wants SSA across both). */
  constructor(
    readonly name: string,
    private readonly prefix = '',
  ) {}

  private fresh(hint: string): string {
    return `${this.prefix}${hint}_${this.counter++}`;
  }

  input(name: string, shape: Dim[], elemType = DataType.FLOAT): string {
    this.inputs.push({ name, elemType, shape });
    return name;
  }

  /** Mark `value` as a graph output called `name` (adds an Identity when the names differ). */
  output(value: string, name: string, shape: Dim[], elemType = DataType.FLOAT): string {
    if (value !== name) this.nodes.push({ opType: 'Identity', inputs: [value], outputs: [name] });
    this.outputs.push({ name, elemType, shape });
    return name;
  }

  weight(name: string, data: Float32Array, dims: number[]): string {
    this.initializers.push(floatTensor(name, data, dims));
    return name;
  }

  weightInt8(name: string, data: Int8Array, dims: number[]): string {
    this.initializers.push(int8Tensor(name, data, dims));
    return name;
  }

  /** A shared int64 constant (shapes, axes, slice bounds). */
  ints(values: number[]): string {
    const key = `i64:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh('const_i64');
      this.initializers.push(int64Tensor(name, values));
      this.constants.set(key, name);
    }
    return name;
  }

  /** A shared scalar float constant. */
  scalar(value: number): string {
    const key = `f32:${value}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh('const_f32');
      this.initializers.push(floatTensor(name, new Float32Array([value]), []));
      this.constants.set(key, name);
    }
    return name;
  }

  /** Add a node; returns its outputs' names (named after `outputs` when given). */
  opN(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    outputs: number | string[] = 1,
    domain?: string,
  ): string[] {
    const outs =
      typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase())) : outputs;
    const a: Record<string, Attr> = {};
    for (const [k, v] of Object.entries(attrs)) a[k] = toAttr(v);
    this.nodes.push({ opType, inputs, outputs: outs, attrs: a, domain });
    return outs;
  }

  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.opN(opType, inputs, attrs, output ? [output] : 1)[0];
  }

  graph(): Graph {
    return {
      name: this.name,
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: this.inputs,
      outputs: this.outputs,
    };
  }

  /** Serialise; nodes from other domains (e.g. com.microsoft contrib ops) need their opset. */
  model(opsetVersion = 17, extraOpsets: { domain: string; version: number }[] = []): Uint8Array {
    const domains = new Set(this.nodes.map((n) => n.domain).filter((d): d is string => !!d));
    const extra = [...extraOpsets];
    for (const d of domains) if (!extra.some((o) => o.domain === d)) extra.push({ domain: d, version: 1 });
    const m: Model = { graph: this.graph(), opsets: [{ domain: '', version: opsetVersion }, ...extra] };
    return encodeModel(m);
  }
}
