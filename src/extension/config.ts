// Reading the simba.* settings.
import * as vscode from 'vscode';
import type { DeviceChoice, Precision, Schedule, Selection, SimbaOptions } from '../shared/options';
import type { OverlayMetric } from '../shared/options';

export interface SimbaConfig {
  modelPath: string;
  device: DeviceChoice;
  keepRatio: number;
  schedule: Schedule;
  selection: Selection;
  topK: number;
  dense: boolean;
  overlayMetric: OverlayMetric;
  overlayLayer: number;
  autoReanalyze: boolean;
  autoReanalyzeDelayMs: number;
  completion: { enable: boolean; debounceMs: number; maxTokens: number; multiline: boolean; temperature: number; precision: Precision; maxContextChars: number };
}

export function readConfig(): SimbaConfig {
  const c = vscode.workspace.getConfiguration('simba');
  return {
    modelPath: c.get<string>('modelPath', '') ?? '',
    device: c.get<DeviceChoice>('device', 'auto'),
    keepRatio: clamp(c.get<number>('keepRatio', 0.1), 0.01, 1),
    schedule: c.get<Schedule>('schedule', 'linear'),
    selection: c.get<Selection>('selection', 'simba'),
    topK: Math.max(1, Math.min(50, c.get<number>('topK', 10))),
    dense: c.get<boolean>('compareDense', true),
    overlayMetric: c.get<OverlayMetric>('overlay.metric', 'retention'),
    overlayLayer: c.get<number>('overlay.layer', -1),
    autoReanalyze: c.get<boolean>('autoReanalyze', false),
    autoReanalyzeDelayMs: Math.max(200, c.get<number>('autoReanalyzeDelayMs', 1500)),
    completion: {
      enable: c.get<boolean>('completion.enable', true),
      debounceMs: Math.max(0, c.get<number>('completion.debounceMs', 300)),
      maxTokens: Math.max(1, Math.min(256, c.get<number>('completion.maxTokens', 24))),
      multiline: c.get<boolean>('completion.multiline', false),
      temperature: Math.max(0, c.get<number>('completion.temperature', 0)),
      precision: c.get<string>('completion.precision', 'fp32') === 'int8' ? 'int8' : 'fp32',
      maxContextChars: Math.max(256, c.get<number>('completion.maxContextChars', 16000)),
    },
  };
}

export function simbaOptions(cfg: SimbaConfig, keepRatio?: number): Partial<SimbaOptions> {
  return { keepRatio: keepRatio ?? cfg.keepRatio, schedule: cfg.schedule, selection: cfg.selection };
}

function clamp(x: number, lo: number, hi: number): number { return Math.max(lo, Math.min(hi, Number.isFinite(x) ? x : lo)); }
