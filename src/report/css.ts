// The panel's stylesheet and, for the standalone report, defaults for the --vscode-* theme
// variables VS Code would otherwise provide. One copy: the panel shell and the report both use it.
import { HEAT_BUCKETS, heatHex } from '../shared/colors';

/** Defaults for the --vscode-* variables the UI uses, for the report outside VS Code. */
export function reportThemeCss(): string {
  const vars = (theme: 'dark' | 'light') => {
    const base =
      theme === 'dark'
        ? {
            fg: '#cccccc',
            bg: '#1e1e1e',
            panel: '#252526',
            border: '#3c3c3c',
            desc: '#9d9d9d',
            link: '#3794ff',
            btn: '#0e639c',
            btnFg: '#ffffff',
            input: '#3c3c3c',
            focus: '#007fd4',
          }
        : {
            fg: '#333333',
            bg: '#ffffff',
            panel: '#f3f3f3',
            border: '#d4d4d4',
            desc: '#717171',
            link: '#006ab1',
            btn: '#007acc',
            btnFg: '#ffffff',
            input: '#ffffff',
            focus: '#0090f1',
          };
    const heat = Array.from({ length: HEAT_BUCKETS }, (_, b) => `--vscode-simba-heat${b}: ${heatHex(b, theme)};`).join(
      ' ',
    );
    return `--vscode-foreground: ${base.fg}; --vscode-editor-background: ${base.bg}; --vscode-editor-foreground: ${base.fg};
      --vscode-sideBar-background: ${base.panel}; --vscode-panel-border: ${base.border}; --vscode-descriptionForeground: ${base.desc};
      --vscode-textLink-foreground: ${base.link}; --vscode-button-background: ${base.btn}; --vscode-button-foreground: ${base.btnFg};
      --vscode-input-background: ${base.input}; --vscode-focusBorder: ${base.focus}; --vscode-font-family: system-ui, sans-serif;
      --vscode-font-size: 13px; --vscode-editor-font-family: ui-monospace, monospace; ${heat}`;
  };
  return `:root { ${vars('light')} } @media (prefers-color-scheme: dark) { :root { ${vars('dark')} } }`;
}

export const PANEL_CSS = `
  body { margin: 0; padding: 0 12px 24px; color: var(--vscode-foreground); background: var(--vscode-editor-background);
    font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
  header { position: sticky; top: 0; z-index: 2; background: var(--vscode-editor-background); padding: 8px 0 6px;
    display: flex; flex-wrap: wrap; gap: 12px; align-items: center; border-bottom: 1px solid var(--vscode-panel-border); }
  header h1 { font-size: 1.1em; margin: 0 8px 0 0; font-weight: 600; }
  header > * { min-width: 0; max-width: 100%; }
  #source { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .stale { white-space: nowrap; }
  .muted { color: var(--vscode-descriptionForeground); }
  section { margin-top: 14px; }
  section h2 { font-size: 1em; font-weight: 600; margin: 0 0 6px; }
  .canvas-wrap { position: relative; width: 100%; border: 1px solid var(--vscode-panel-border); }
  canvas { display: block; width: 100%; }
  canvas:focus-visible, td.tok:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
  #heatmap { height: 260px; cursor: crosshair; }
  #highway { height: 240px; cursor: pointer; }
  #retention { height: 120px; }
  .readout { min-height: 1.4em; font-family: var(--vscode-editor-font-family); white-space: pre; overflow: hidden; text-overflow: ellipsis; }
  .row { display: flex; gap: 16px; flex-wrap: wrap; }
  .col { flex: 1 1 200px; min-width: 190px; }
  .sugg-wrap { max-width: 100%; overflow-x: auto; }
  /* Fixed layout, full width: the token columns share what the #/p columns leave; long tokens are cut with an ellipsis. */
  table.sugg { border-collapse: collapse; margin-top: 4px; width: 100%; max-width: 36em; table-layout: fixed; }
  table.sugg th.n { width: 2em; }
  table.sugg th.pc { width: 7.5em; }
  table.sugg td, table.sugg th { padding: 2px 6px; text-align: left; border-bottom: 1px solid var(--vscode-panel-border); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  table.sugg th { white-space: normal; vertical-align: bottom; }
  table.sugg td code { display: inline-block; max-width: 100%; overflow: hidden; text-overflow: ellipsis; vertical-align: bottom; }
  table.sugg td.tok { cursor: pointer; }
  table.sugg td.tok:hover { background: var(--vscode-list-hoverBackground, rgba(128,128,128,.15)); }
  table.sugg td.p { font-variant-numeric: tabular-nums; }
  table.sugg code { font-family: var(--vscode-editor-font-family); }
  .bar { display: inline-block; height: 8px; background: var(--vscode-textLink-foreground); vertical-align: middle; }
  .shared { font-weight: 600; }
  dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 12px; margin: 0; }
  dl.facts dt { color: var(--vscode-descriptionForeground); }
  dl.facts dd { margin: 0; overflow-wrap: anywhere; }
  .legend { display: flex; flex-wrap: wrap; align-items: center; gap: 2px; margin-top: 4px; font-size: 0.9em; }
  .legend .ramp { display: inline-flex; border: 1px solid var(--vscode-foreground); }
  .legend span.sw { width: 16px; height: 10px; display: inline-block; }
  .slider { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; min-width: 0; }
  .slider vscode-single-select { min-width: 0; max-width: 100%; }
  .main-col, .side-col { min-width: 0; }
  body.report .live-only { display: none !important; }
  /* The keep-ratio slider drawn from theme colours, not the browser's accent (button.background is
     transparent in Dark High Contrast, so the native thumb vanished there): the thumb in the text
     colour (≥ 4.5:1 on the background), the track a translucent scrollbar-slider fill that stays
     ≥ 3:1 from the thumb on every built-in theme (checked from the theme's colours in the e2e suite). */
  input[type=range] { -webkit-appearance: none; appearance: none; width: 140px; height: 18px; margin: 0; background: transparent;
    --slider-thumb: var(--vscode-foreground); --slider-track: var(--vscode-scrollbarSlider-background, rgba(128, 128, 128, 0.4)); }
  input[type=range]::-webkit-slider-runnable-track { height: 4px; border-radius: 2px; background: var(--slider-track); }
  input[type=range]::-webkit-slider-thumb { -webkit-appearance: none; appearance: none; width: 14px; height: 14px; margin-top: -5px;
    border-radius: 50%; border: none; background: var(--slider-thumb); }
  input[type=range]::-moz-range-track { height: 4px; border-radius: 2px; background: var(--slider-track); }
  input[type=range]::-moz-range-thumb { width: 14px; height: 14px; border-radius: 50%; border: none; background: var(--slider-thumb); }
  input[type=range]:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 2px; }
  #empty { margin-top: 40px; text-align: center; }
  .empty-action { margin-top: 12px; }
  .stale { color: var(--vscode-editorWarning-foreground, #cca700); }
  .grid { display: grid; grid-template-columns: minmax(0, 1fr); gap: 0 20px; }
  @media (min-width: 1000px) { .grid { grid-template-columns: minmax(0, 3fr) minmax(320px, 2fr); } }
  details summary { cursor: pointer; margin-top: 4px; }
  .hidden { display: none !important; }
`;
