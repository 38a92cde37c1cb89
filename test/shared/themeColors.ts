// Colours of VS Code's built-in themes, copied from code-server 4.139.1's bundled
// lib/vscode/extensions/theme-defaults/themes/{light_plus,light_modern,dark_plus,dark_modern,
// hc_black,hc_light}.json (with their "include"s resolved): editor.background, editor.foreground
// and the tokenColors foreground of the scopes comment, string, keyword, keyword.control,
// constant.numeric, entity.name.function, variable and entity.name.type. hc_light.json sets no
// editor colours: #ffffff / #292929 are VS Code's defaults for the hcLight theme kind.
import type { ThemeKind } from '../../src/shared/colors';

export interface ThemeColors {
  kind: ThemeKind;
  background: string;
  tokens: Record<string, string>;
}

export const BUILT_IN_THEMES: Record<string, ThemeColors> = {
  'Light+': {
    kind: 'light',
    background: '#FFFFFF',
    tokens: {
      foreground: '#000000',
      comment: '#008000',
      string: '#a31515',
      keyword: '#0000ff',
      control: '#AF00DB',
      number: '#098658',
      function: '#795E26',
      variable: '#001080',
      type: '#267f99',
    },
  },
  'Light Modern': {
    kind: 'light',
    background: '#FFFFFF',
    tokens: {
      foreground: '#3B3B3B',
      comment: '#008000',
      string: '#a31515',
      keyword: '#0000ff',
      control: '#AF00DB',
      number: '#098658',
      function: '#795E26',
      variable: '#001080',
      type: '#267f99',
    },
  },
  'Dark+': {
    kind: 'dark',
    background: '#1E1E1E',
    tokens: {
      foreground: '#D4D4D4',
      comment: '#6A9955',
      string: '#ce9178',
      keyword: '#569cd6',
      control: '#C586C0',
      number: '#b5cea8',
      function: '#DCDCAA',
      variable: '#9CDCFE',
      type: '#4EC9B0',
    },
  },
  'Dark Modern': {
    kind: 'dark',
    background: '#1F1F1F',
    tokens: {
      foreground: '#CCCCCC',
      comment: '#6A9955',
      string: '#ce9178',
      keyword: '#569cd6',
      control: '#C586C0',
      number: '#b5cea8',
      function: '#DCDCAA',
      variable: '#9CDCFE',
      type: '#4EC9B0',
    },
  },
  'Dark High Contrast': {
    kind: 'highContrast',
    background: '#000000',
    tokens: {
      foreground: '#FFFFFF',
      comment: '#7ca668',
      string: '#ce9178',
      keyword: '#569cd6',
      control: '#C586C0',
      number: '#b5cea8',
      function: '#DCDCAA',
      variable: '#9CDCFE',
      type: '#4EC9B0',
    },
  },
  'Light High Contrast': {
    kind: 'highContrastLight',
    background: '#FFFFFF',
    tokens: {
      foreground: '#292929',
      comment: '#515151',
      string: '#0F4A85',
      keyword: '#0F4A85',
      control: '#b5200d',
      number: '#096d48',
      function: '#5e2cbc',
      variable: '#001080',
      type: '#185E73',
    },
  },
};
