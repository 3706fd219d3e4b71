/**
 * The part of ONNX's protobuf schema (onnx/onnx.proto, IR version 7 and later) that an inference
 * graph of convolutions needs, with the official field numbers, encoded and decoded by protobufjs.
 * Only messages and fields this exporter writes are declared: protobuf readers skip nothing they
 * need, and any ONNX reader (ONNX Runtime, `onnx.checker`) reads the bytes as a full ModelProto.
 */
import * as protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; }
  optional string name = 1;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional bytes raw_data = 9;
  optional string doc_string = 12;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`;

/** TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  /** Little-endian bytes of the values. */
  rawData: Uint8Array;
}

export type OnnxAttributeValue = number | number[] | string | { ints: number[] } | { float: number };

export interface OnnxNode {
  opType: string;
  name: string;
  input: string[];
  output: string[];
  attribute: Record<string, OnnxAttributeValue>;
}

export interface OnnxValueInfo {
  name: string;
  /** A number is a fixed size; a string names a symbolic dimension (e.g. 'batch'). */
  shape: (number | string)[];
  docString?: string;
}

export interface OnnxModel {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  docString: string;
  graphName: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  metadata: Record<string, string>;
}

let root: protobuf.Root | undefined;
function modelType(): protobuf.Type {
  root ??= protobuf.parse(SCHEMA, { keepCase: true }).root;
  return root.lookupType('onnx.ModelProto');
}

/**
 * An attribute as ONNX stores it. Integers and integer lists are INT / INTS (kernel_shape, pads,
 * strides ...); `{ float: x }` is FLOAT (epsilon); a string is STRING.
 */
function attribute(name: string, v: OnnxAttributeValue): Record<string, unknown> {
  if (typeof v === 'string') return { name, type: 3, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`ONNX attribute ${name}: ${v} is not an integer (use { float: x })`);
    return { name, type: 2, i: v };
  }
  if (Array.isArray(v)) return { name, type: 7, ints: v };
  if ('ints' in v) return { name, type: 7, ints: v.ints };
  return { name, type: 1, f: v.float };
}

function valueInfo(v: OnnxValueInfo): Record<string, unknown> {
  return {
    name: v.name,
    ...(v.docString ? { doc_string: v.docString } : {}),
    type: {
      tensor_type: {
        elem_type: ONNX_FLOAT,
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

/** The bytes of an ONNX file (a serialized ModelProto). */
export function encodeOnnxModel(m: OnnxModel): Uint8Array {
  const type = modelType();
  const message = type.fromObject({
    ir_version: m.irVersion,
    opset_import: [{ domain: '', version: m.opsetVersion }],
    producer_name: m.producerName,
    producer_version: m.producerVersion,
    doc_string: m.docString,
    metadata_props: Object.entries(m.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: m.graphName,
      node: m.nodes.map((n) => ({
        op_type: n.opType,
        name: n.name,
        input: n.input,
        output: n.output,
        attribute: Object.entries(n.attribute).map(([k, v]) => attribute(k, v)),
      })),
      initializer: m.initializers.map((t) => ({
        name: t.name,
        dims: t.dims,
        data_type: t.dataType,
        raw_data: t.rawData,
      })),
      input: m.inputs.map(valueInfo),
      output: m.outputs.map(valueInfo),
    },
  });
  return type.encode(message).finish();
}

/** A decoded ModelProto as a plain object (field names as in onnx.proto; int64 as numbers): for tests and tools. */
export function decodeOnnxModel(bytes: Uint8Array): Record<string, unknown> {
  const type = modelType();
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false }) as Record<string, unknown>;
}
