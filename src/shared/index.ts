// src/shared: the contract between the engine, the engine process, the extension host, the
// webview and the command line. Pure data and pure functions: no fs, vscode, onnxruntime or DOM.
export * from './analysis';
export * from './analysisView';
export * from './colors';
export * from './heatMatrix';
export * from './messages';
export * from './metrics';
export * from './options';
export * from './tokenDisplay';
