import * as assert from 'node:assert/strict';
import { type PathHost, hostOf, hostPath, isWindowsShaped, pathShape } from '../../src/shared/paths';

const windows: PathHost = { platform: 'win32' };
const wsl: PathHost = { platform: 'linux', wslDistro: 'Ubuntu-22.04' };
const remoteLinux: PathHost = { platform: 'linux' };
const mac: PathHost = { platform: 'darwin' };

const ok = (p: string, host: PathHost) => {
  const r = hostPath(p, host);
  assert.ok('path' in r, `${p}: ${'problem' in r ? r.problem : ''}`);
  return r.path;
};
const problem = (p: string, host: PathHost) => {
  const r = hostPath(p, host);
  assert.ok('problem' in r, `${p} was accepted as ${'path' in r ? r.path : ''}`);
  return r.problem;
};

describe('paths from other machines (src/shared/paths)', () => {
  it('tells the shapes apart', () => {
    assert.equal(pathShape('C:\\Users\\me'), 'windows-drive');
    assert.equal(pathShape('c:/Users/me'), 'windows-drive');
    assert.equal(pathShape('D:'), 'windows-drive');
    assert.equal(pathShape('\\\\wsl$\\Ubuntu\\home\\me'), 'wsl-unc');
    assert.equal(pathShape('//wsl.localhost/Ubuntu/home'), 'wsl-unc');
    assert.equal(pathShape('\\\\server\\share\\models'), 'unc');
    assert.equal(pathShape('\\\\?\\C:\\long\\path'), 'unc');
    assert.equal(pathShape('/mnt/c/Users/me'), 'wsl-mount');
    assert.equal(pathShape('/home/me/models'), 'posix');
    assert.equal(pathShape('models/mamba'), 'relative');
    assert.equal(pathShape('ab:c'), 'relative'); // not a drive: one letter only
    assert.ok(isWindowsShaped('out\\a.json'));
    assert.ok(!isWindowsShaped('/mnt/c/x'));
  });

  it('on Windows: drive paths and UNC names stay, with backslashes; WSL mounts become drives', () => {
    assert.equal(ok('C:/Users/me/mamba-130m-hf', windows), 'C:\\Users\\me\\mamba-130m-hf');
    assert.equal(ok('C:\\Users\\me\\mamba', windows), 'C:\\Users\\me\\mamba');
    assert.equal(ok('\\\\wsl$\\Ubuntu\\home\\me\\m', windows), '\\\\wsl$\\Ubuntu\\home\\me\\m');
    assert.equal(ok('//wsl.localhost/Ubuntu/home/me/m', windows), '\\\\wsl.localhost\\Ubuntu\\home\\me\\m');
    assert.equal(ok('\\\\server\\share\\m', windows), '\\\\server\\share\\m');
    assert.equal(ok('/mnt/d/models/mamba', windows), 'D:\\models\\mamba');
    assert.equal(ok('/mnt/c', windows), 'C:\\');
    assert.equal(ok('out/report.html', windows), 'out\\report.html');
  });

  it('in WSL: drive paths become /mnt/<drive>, its own \\\\wsl$ paths plain Linux paths', () => {
    assert.equal(ok('C:\\Users\\me\\mamba-130m-hf', wsl), '/mnt/c/Users/me/mamba-130m-hf');
    assert.equal(ok('D:/models/', wsl), '/mnt/d/models');
    assert.equal(ok('E:\\', wsl), '/mnt/e');
    assert.equal(ok('\\\\wsl$\\Ubuntu-22.04\\home\\me\\m', wsl), '/home/me/m');
    assert.equal(ok('\\\\wsl.localhost\\ubuntu-22.04\\home\\me\\', wsl), '/home/me');
    assert.equal(ok('/mnt/c/Users/me', wsl), '/mnt/c/Users/me');
    assert.match(problem('\\\\wsl$\\Debian\\home\\me\\m', wsl), /WSL distribution Debian.*\/home\/me\/m inside Debian/);
    assert.match(problem('\\\\nas\\models\\m', wsl), /UNC.*mount the share/);
  });

  it('on a remote Linux or macOS host: a Windows path is refused with the reason', () => {
    for (const host of [remoteLinux, mac]) {
      assert.match(
        problem('C:\\Users\\me\\mamba', host),
        /is a Windows path, and the extension runs on this (linux|darwin) machine/,
      );
      assert.match(problem('\\\\wsl$\\Ubuntu\\home\\me', host), /WSL distribution Ubuntu/);
      assert.match(problem('\\\\server\\share\\x', host), /UNC/);
      assert.equal(ok('/home/me/models/mamba', host), '/home/me/models/mamba');
      assert.equal(ok('/mnt/c/Users/me', host), '/mnt/c/Users/me'); // a real folder there, maybe
    }
  });

  it('backslashes of a relative path become slashes on POSIX; other paths are unchanged', () => {
    assert.equal(ok('out\\analysis.json', remoteLinux), 'out/analysis.json');
    assert.equal(ok('a\\b/c', remoteLinux), 'a\\b/c'); // mixed: a real name with a backslash
    assert.equal(ok('models/mamba', wsl), 'models/mamba');
    assert.equal(ok('-', remoteLinux), '-');
  });

  it('takes off the quotes of "Copy as path" and reads file:// URIs', () => {
    assert.equal(ok('"C:\\Users\\me\\m"', wsl), '/mnt/c/Users/me/m');
    assert.equal(ok('  /home/me/m  ', remoteLinux), '/home/me/m');
    assert.equal(ok('file:///c%3A/Users/me/m', windows), 'C:\\Users\\me\\m');
    assert.equal(ok('file:///C:/Users/me/m', wsl), '/mnt/c/Users/me/m');
    assert.equal(ok('file:///home/me/my%20model', remoteLinux), '/home/me/my model');
    assert.match(problem('file:///%E0%A4%A', remoteLinux), /does not decode/);
  });

  it('reads the host from process.platform and WSL_DISTRO_NAME', () => {
    assert.deepEqual(hostOf({ platform: 'linux', env: { WSL_DISTRO_NAME: 'Ubuntu' } }), {
      platform: 'linux',
      wslDistro: 'Ubuntu',
    });
    assert.deepEqual(hostOf({ platform: 'darwin', env: {} }), { platform: 'darwin' });
  });
});
