// The simba.* settings, read through src/shared/settings.ts: every default, choice list and range
// comes from that table (which a unit test holds equal to package.json), none is written here.
import * as vscode from 'vscode';
import { SETTINGS, type SettingKey } from '../shared/settings';
import type {
  CompletionMode,
  DeviceChoice,
  OverlayMetric,
  OverlayStyle,
  Precision,
  ResidualMode,
  Schedule,
  Selection,
  SimbaOptions,
} from '../shared/options';

type SettingValue<K extends SettingKey> = (typeof SETTINGS)[K]['default'];

/** The value of simba.<key>: the user's when it is valid (numbers clamped into range), else the default. */
export function readSetting<K extends SettingKey>(
  key: K,
  c = vscode.workspace.getConfiguration('simba'),
): SettingValue<K> {
  const s = SETTINGS[key] as (typeof SETTINGS)[SettingKey];
  const v = c.get<unknown>(key);
  switch (s.type) {
    case 'string': {
      const list = 'enum' in s ? (s.enum as readonly string[] | undefined) : undefined;
      return (typeof v === 'string' && (!list || list.includes(v)) ? v : s.default) as SettingValue<K>;
    }
    case 'number':
    case 'integer': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return s.default as SettingValue<K>;
      const x = s.type === 'integer' ? Math.round(v) : v; // a hand-edited 1.5 would reach the engine's integer check
      return Math.min(s.maximum ?? Infinity, Math.max(s.minimum ?? -Infinity, x)) as SettingValue<K>;
    }
    case 'boolean':
      return (typeof v === 'boolean' ? v : s.default) as SettingValue<K>;
  }
}

/** Typed getters over the settings; each read sees the current configuration. */
export class Config {
  get modelPath(): string {
    return readSetting('modelPath');
  }
  get device(): DeviceChoice {
    return readSetting('device');
  }
  get prefillPrecision(): Precision {
    return readSetting('prefillPrecision');
  }
  get keepRatio(): number {
    return readSetting('keepRatio');
  }
  get schedule(): Schedule {
    return readSetting('schedule');
  }
  get selection(): Selection {
    return readSetting('selection');
  }
  get residual(): ResidualMode {
    return readSetting('residual');
  }
  get topK(): number {
    return readSetting('topK');
  }
  get compareDense(): boolean {
    return readSetting('compareDense');
  }
  get overlayMetric(): OverlayMetric {
    return readSetting('overlay.metric');
  }
  /** Tokens of context an explained token's hidden attention covers (simba.explain.window). */
  get explainWindow(): number {
    return readSetting('explain.window');
  }
  /** Whether α includes the Δ_j factor (simba.explain.includeDelta). */
  get explainIncludeDelta(): boolean {
    return readSetting('explain.includeDelta');
  }
  get overlayLayer(): number {
    return readSetting('overlay.layer');
  }
  get overlayStyle(): OverlayStyle {
    return readSetting('overlay.style');
  }
  get overlayOpacity(): number {
    return readSetting('overlay.opacity');
  }
  get overlaySubtle(): boolean {
    return readSetting('overlay.subtle');
  }
  get autoReanalyze(): boolean {
    return readSetting('autoReanalyze');
  }
  get autoReanalyzeDelayMs(): number {
    return readSetting('autoReanalyzeDelayMs');
  }
  readonly completion = {
    get mode(): CompletionMode {
      return readSetting('completion.enable');
    },
    /** Automatic completions on: `on`, or `auto` with a checkpoint chosen (not the bundled model). */
    get enable(): boolean {
      const m = readSetting('completion.enable');
      return m === 'on' || (m === 'auto' && !!readSetting('modelPath'));
    },
    get minProbability(): number {
      return readSetting('completion.minProbability');
    },
    get debounceMs(): number {
      return readSetting('completion.debounceMs');
    },
    get maxTokens(): number {
      return readSetting('completion.maxTokens');
    },
    get multiline(): boolean {
      return readSetting('completion.multiline');
    },
    get temperature(): number {
      return readSetting('completion.temperature');
    },
    get precision(): Precision {
      return readSetting('completion.precision');
    },
    get maxContextChars(): number {
      return readSetting('completion.maxContextChars');
    },
  };

  /** The Simba pruning options of an analysis or a completion's prefill. */
  simba(keepRatio = this.keepRatio): Partial<SimbaOptions> {
    return { keepRatio, schedule: this.schedule, selection: this.selection, residual: this.residual };
  }

  /** The hub's address from simba.hub.endpoint ('' = HF_ENDPOINT, else huggingface.co). */
  get hubEndpoint(): string {
    return readSetting('hub.endpoint').trim();
  }
  /** VS Code's http.proxy ('' when unset: the hub then uses HTTPS_PROXY / HTTP_PROXY). */
  get httpProxy(): string {
    const v = vscode.workspace.getConfiguration('http').get<unknown>('proxy');
    return typeof v === 'string' ? v.trim() : '';
  }

  /** Write a user setting (Select Device). */
  update(key: SettingKey, value: unknown): Thenable<void> {
    return vscode.workspace.getConfiguration('simba').update(key, value, vscode.ConfigurationTarget.Global);
  }

  /** Save the model choice for this workspace (its .vscode/settings.json), or for the user when no folder is open. */
  updateModelPath(value: string): Thenable<void> {
    const target = vscode.workspace.workspaceFolders?.length
      ? vscode.ConfigurationTarget.Workspace
      : vscode.ConfigurationTarget.Global;
    return vscode.workspace.getConfiguration('simba').update('modelPath', value, target);
  }
}
