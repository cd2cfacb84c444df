/**
 * An ExportPlan (plan.ts) as an ONNX model, encoded by the onnx-proto package (the official
 * onnx.proto compiled for protobufjs), opset 17, IR version 8: raw pixels in, probabilities out.
 *
 *   inputs   pixels (N,H,W,C) float32 in 0-255, the dataset's own row layout (height, width,
 *            channels: MNIST (N,28,28,1), CIFAR-10 (N,32,32,3) in RGB order); a features run
 *            takes features (N,F) float64 instead
 *   outputs  probabilities (N,C) float32 (softmax loss) and scores (N,C) float32 (always)
 *   layers   MatMul + Add per affine step, BatchNormalization (test mode, the running statistics)
 *            or LayerNormalization (last axis) where the MLP has them, Relu, Softmax
 *
 * The metadata (metadata_props) names the classes (JSON list), the dataset, the input layout and
 * the checkpoint's epoch and val accuracy.
 */
import onnxProto, { type onnx as P } from 'onnx-proto';
import type { ExportPlan, Step } from './plan.js';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;

export const ONNX_OPSET = 17;
const IR_VERSION = 8;

function tensor(name: string, dims: number[], data: Float32Array | Float64Array | BigInt64Array): P.ITensorProto {
  const dataType = data instanceof Float32Array ? T.FLOAT : data instanceof Float64Array ? T.DOUBLE : T.INT64;
  // raw_data is little-endian, as typed arrays are on every platform Node supports here.
  return { name, dims, dataType, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): P.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

const intAttr = (name: string, i: number): P.IAttributeProto => ({ name, type: A.INT, i });
const floatAttr = (name: string, f: number): P.IAttributeProto => ({ name, type: A.FLOAT, f });

/** The ONNX ModelProto bytes of `plan`; `meta` becomes metadata_props. */
export function onnxOfPlan(plan: ExportPlan, meta: Record<string, string>, docString: string): Uint8Array {
  const nodes: P.INodeProto[] = [];
  const inits: P.ITensorProto[] = [];
  let k = 0;
  const fresh = (what: string) => `${what}_${k++}`;
  const node = (opType: string, input: string[], name: string, attribute: P.IAttributeProto[] = []): string => {
    const out = fresh(name);
    nodes.push({ opType, input, output: [out], name: out, attribute });
    return out;
  };
  let x: string;
  const inputs: P.IValueInfoProto[] = [];
  if (plan.input.name === 'pixels') {
    inputs.push(valueInfo('pixels', T.FLOAT, ['N', ...plan.input.shape]));
    x = node('Flatten', ['pixels'], 'flat', [intAttr('axis', 1)]);
    x = node('Cast', [x], 'flat_f64', [intAttr('to', T.DOUBLE)]);
  } else {
    inputs.push(valueInfo('features', T.DOUBLE, ['N', plan.input.dim]));
    x = 'features';
  }
  let scores = '';
  for (const s of plan.steps as Step[]) {
    if (s.op === 'normalize-pixels') {
      inits.push(tensor('mean', [s.mean.length], Float64Array.from(s.mean)), tensor('scale', [], Float64Array.of(s.scale)));
      x = node('Sub', [x, 'mean'], 'centred');
      x = node('Mul', [x, 'scale'], 'scaled');
      x = node('Cast', [x], 'rows', [intAttr('to', T.FLOAT)]);
    } else if (s.op === 'normalize-features') {
      inits.push(tensor('mean', [s.mean.length], Float64Array.from(s.mean)), tensor('std', [s.std.length], s.std));
      x = node('Sub', [x, 'mean'], 'centred');
      x = node('Div', [x, 'std'], 'standardised');
      x = node('Cast', [x], 'rows', [intAttr('to', T.FLOAT)]);
    } else if (s.op === 'affine') {
      inits.push(tensor(s.W.name, [s.W.rows, s.W.cols], s.W.data), tensor(s.b.name, [s.b.cols], s.b.data));
      x = node('MatMul', [x, s.W.name], 'matmul');
      x = node('Add', [x, s.b.name], 'affine');
      scores = x;
    } else if (s.op === 'batchnorm') {
      // Test mode (training_mode 0): Y = scale·(X − mean)/√(var + epsilon) + B over the columns of (N,H).
      for (const m of [s.gamma, s.beta, s.mean, s.variance]) inits.push(tensor(m.name, [m.cols], m.data));
      x = node('BatchNormalization', [x, s.gamma.name, s.beta.name, s.mean.name, s.variance.name], 'batchnorm', [floatAttr('epsilon', s.eps)]);
    } else if (s.op === 'layernorm') {
      // Along the last axis, statistics in float32 (stash_type 1).
      for (const m of [s.gamma, s.beta]) inits.push(tensor(m.name, [m.cols], m.data));
      x = node('LayerNormalization', [x, s.gamma.name, s.beta.name], 'layernorm', [intAttr('axis', -1), floatAttr('epsilon', s.eps), intAttr('stash_type', 1)]);
    } else if (s.op === 'relu') {
      x = node('Relu', [x], 'relu');
    } else if (s.op === 'softmax') {
      nodes.push({ opType: 'Softmax', input: [scores], output: ['probabilities'], name: 'softmax', attribute: [intAttr('axis', 1)] });
    }
  }
  nodes.push({ opType: 'Identity', input: [scores], output: ['scores'], name: 'scores' });
  const C = plan.numClasses;
  const outputs = [...(plan.output === 'probabilities' ? [valueInfo('probabilities', T.FLOAT, ['N', C])] : []), valueInfo('scores', T.FLOAT, ['N', C])];
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'tsnn-trainer',
    docString,
    graph: { name: 'tsnn_trainer_model', node: nodes, initializer: inits, input: inputs, output: outputs },
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}
