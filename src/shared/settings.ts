// The simba.* settings: key, default, choices and range, as package.json's
// contributes.configuration declares them (a unit test holds the two together). The extension's
// Config reads every setting through this table, so a default is written in one place.
import {
  COMPLETION_MODES,
  DEFAULT_DEVICE,
  DEFAULT_OVERLAY_METRIC,
  DEFAULT_OVERLAY_STYLE,
  OVERLAY_STYLES,
  DEFAULT_PRECISION,
  DEFAULT_SIMBA,
  DEVICES,
  KEEP_RATIO,
  OVERLAY_METRICS,
  PRECISIONS,
  RESIDUAL_MODES,
  SCHEDULES,
  SELECTIONS,
  TOP_K,
} from './options';
import { EXPLAIN_WINDOW } from './hiddenAttention';

interface StringSetting<T extends string = string> {
  readonly type: 'string';
  readonly default: T;
  readonly enum?: readonly T[];
}
interface NumberSetting {
  /** 'integer' where a fraction makes no sense (VS Code's Settings UI then refuses one). */
  readonly type: 'number' | 'integer';
  readonly default: number;
  readonly minimum?: number;
  readonly maximum?: number;
}
interface BooleanSetting {
  readonly type: 'boolean';
  readonly default: boolean;
}
export type Setting = StringSetting | NumberSetting | BooleanSetting;

const choice = <T extends string>(list: readonly T[], d: T): StringSetting<T> => ({
  type: 'string',
  default: d,
  enum: list,
});
const num = (d: number, minimum?: number, maximum?: number): NumberSetting => ({
  type: 'number',
  default: d,
  minimum,
  maximum,
});
const int = (d: number, minimum?: number, maximum?: number): NumberSetting => ({
  type: 'integer',
  default: d,
  minimum,
  maximum,
});
const bool = (d: boolean): BooleanSetting => ({ type: 'boolean', default: d });

/** Every setting under `simba.`, by its key without the prefix. */
export const SETTINGS = {
  modelPath: { type: 'string', default: '' } as StringSetting,
  device: choice(DEVICES, DEFAULT_DEVICE),
  prefillPrecision: choice(PRECISIONS, DEFAULT_PRECISION),
  keepRatio: num(KEEP_RATIO.default, KEEP_RATIO.minimum, KEEP_RATIO.maximum),
  schedule: choice(SCHEDULES, DEFAULT_SIMBA.schedule),
  selection: choice(SELECTIONS, DEFAULT_SIMBA.selection),
  // The extension carries pruned residuals by default: the loss along the document and the
  // pruning-damage overlay need a read-out at every position (T × D floats more).
  residual: choice(RESIDUAL_MODES, 'carry'),
  topK: int(TOP_K.default, TOP_K.minimum, TOP_K.maximum),
  compareDense: bool(true),
  'overlay.metric': choice(OVERLAY_METRICS, DEFAULT_OVERLAY_METRIC),
  'overlay.layer': int(-1, -1),
  'overlay.style': choice(OVERLAY_STYLES, DEFAULT_OVERLAY_STYLE),
  'overlay.opacity': num(1, 0.2, 1),
  'overlay.subtle': bool(false),
  autoReanalyze: bool(false),
  autoReanalyzeDelayMs: int(1500, 200),
  'completion.enable': choice(COMPLETION_MODES, 'auto'),
  'completion.minProbability': num(0.3, 0, 1),
  'completion.debounceMs': int(300, 0),
  'completion.maxTokens': int(24, 1, 256),
  'completion.multiline': bool(false),
  'completion.temperature': num(0, 0, 2),
  'completion.precision': choice(PRECISIONS, DEFAULT_PRECISION),
  'completion.maxContextChars': int(16000, 256),
  'explain.window': int(EXPLAIN_WINDOW.default, EXPLAIN_WINDOW.minimum, EXPLAIN_WINDOW.maximum),
  'explain.includeDelta': bool(true),
  'hub.endpoint': { type: 'string', default: '' } as StringSetting,
} as const;

export type SettingKey = keyof typeof SETTINGS;
