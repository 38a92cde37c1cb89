// Simba Lens: activation and the command table. State lives in ctx.ts, the commands in commands.ts.
import * as vscode from 'vscode';
import { simbaApi, type SimbaApi } from './api';
import * as cmd from './commands';
import { Ctx } from './ctx';

/** simba.<name> → its factory. */
const COMMANDS: Record<string, cmd.CommandFactory> = {
  analyzeDocument: cmd.analyzeDocument,
  analyzeToCursor: cmd.analyzeToCursor,
  toggleOverlay: cmd.toggleOverlay,
  showPanel: cmd.showPanel,
  explainToken: cmd.explainToken,
  chooseExplainView: cmd.chooseExplainView,
  selectModel: cmd.selectModel,
  downloadModel: cmd.downloadModel,
  setHubToken: cmd.setHubToken,
  selectDevice: cmd.selectDevice,
  cancelAnalysis: cmd.cancelAnalysis,
  skipDenseComparison: cmd.skipDenseComparison,
  exportAnalysis: cmd.exportAnalysis,
  clear: cmd.clear,
  chooseOverlayMetric: cmd.chooseOverlayMetric,
  triggerCompletion: cmd.triggerCompletion,
  restartEngine: cmd.restartEngine,
  toggleOverlayStyle: cmd.toggleOverlayStyle,
  openWalkthrough: cmd.openWalkthrough,
};

export function activate(context: vscode.ExtensionContext): SimbaApi {
  const ctx = new Ctx(context);
  context.subscriptions.push(ctx);
  for (const [name, factory] of Object.entries(COMMANDS))
    context.subscriptions.push(vscode.commands.registerCommand(`simba.${name}`, factory(ctx)));
  return simbaApi(ctx);
}

export function deactivate(): void {
  /* everything is in context.subscriptions */
}
