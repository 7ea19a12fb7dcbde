// Loading configuration from directories, as Go libcni's conf_test.go does (F1-F6, F8, F10-F19, F22),
// plus our non-throwing directory scan.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  confFiles,
  confFromFile,
  confListFromConf,
  loadConf,
  loadNetworkConf,
  loadNetworkConfDir,
  networkConfFromFile,
} from '../../src/config/load.ts';
import { networkConfFromBytes, pluginConfFromBytes } from '../../src/config/parse.ts';
import {
  ConfigError,
  DuplicateNetworkError,
  NoConfigsFoundError,
  NotFoundError,
} from '../../src/core/errors.ts';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/** Run `fn` with a fresh temp dir holding `files` (relative path → content), then remove it. */
async function withDir(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'libcni-'));
  try {
    for (const [name, content] of Object.entries(files)) {
      await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await fs.writeFile(path.join(dir, name), content);
    }
    await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof Error);
    return e;
  }
  assert.fail('expected a rejection');
}

const PLUGIN = '{ "name": "some-plugin", "type": "foobar", "some-key": "some-value" }';

describe('legacy single-plugin files (LoadConf)', () => {
  test('F1: finds the .conf of the given name, bytes verbatim', () =>
    withDir({ '50-whatever.conf': PLUGIN }, async (dir) => {
      const conf = await loadConf(dir, 'some-plugin');
      assert.equal(conf.network.type, 'foobar');
      assert.equal(conf.network.name, 'some-plugin');
      assert.equal(text(conf.bytes), PLUGIN);
    }));

  test('F2: a missing directory is NoConfigsFoundError', async () => {
    const dir = path.join(os.tmpdir(), 'libcni-does-not-exist-4711');
    const e = await rejection(loadConf(dir, 'some-plugin'));
    assert.ok(e instanceof NoConfigsFoundError);
    assert.equal(e.dir, dir);
    assert.equal(e.message, `no net configurations found in ${dir}`);
  });

  test('F3: .json files count too', () =>
    withDir({ '50-whatever.json': PLUGIN }, async (dir) => {
      assert.equal((await loadConf(dir, 'some-plugin')).network.type, 'foobar');
    }));

  test('F4: an unknown name is NotFoundError', () =>
    withDir({ '50-whatever.conf': PLUGIN }, async (dir) => {
      const e = await rejection(loadConf(dir, 'some-other-plugin'));
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.message, `no net configuration with name "some-other-plugin" in ${dir}`);
    }));

  test('F5: a malformed file sorting first aborts the lookup', () =>
    withDir({ '50-whatever.conf': PLUGIN, '00-bad.conf': '{' }, async (dir) => {
      const e = await rejection(loadConf(dir, 'some-plugin'));
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, 'error parsing configuration: unexpected end of JSON input');
      assert.equal(e.file, path.join(dir, '00-bad.conf'));
    }));

  test('F6: nested subdirectories are not searched', () =>
    withDir(
      { '50-whatever.conf': PLUGIN, 'subdir1/subdir2/90-deep.conf': '{"name":"deep","type":"x"}' },
      async (dir) => {
        const e = await rejection(loadConf(dir, 'deep'));
        assert.match(e.message, /^no net configuration with name/);
      },
    ));

  test('F8: an unreadable file is "error reading <f>: open <f>: ..."', async () => {
    const e = await rejection(confFromFile('/tmp/nope/not-here'));
    assert.ok(e instanceof ConfigError);
    assert.equal(
      e.message,
      'error reading /tmp/nope/not-here: open /tmp/nope/not-here: no such file or directory',
    );
  });

  test('F9: a file without type', () =>
    withDir({ '50-whatever.conf': '{ "name": "some-plugin", "some-key": "some-value" }' }, async (dir) => {
      const e = await rejection(confFromFile(path.join(dir, '50-whatever.conf')));
      assert.equal(e.message, "error parsing configuration: missing 'type'");
    }));
});

const LIST = `{
  "name": "some-network",
  "cniVersion": "0.2.0",
  "disableCheck": true,
  "plugins": [
    {
      "type": "host-local",
      "subnet": "10.0.0.1/24"
    },
    {
      "type": "bridge",
      "mtu": 1400
    },
    {
      "type": "port-forwarding",
      "ports": {"20.0.0.1:8080": "80"}
    }
  ]
}`;

describe('network configuration lists (LoadNetworkConf)', () => {
  test('F10: the list with its plugins; each plugin keeps its own bytes', () =>
    withDir({ '50-whatever.conflist': LIST }, async (dir) => {
      const list = await loadNetworkConf(dir, 'some-network');
      assert.equal(list.name, 'some-network');
      assert.equal(list.cniVersion, '0.2.0');
      assert.equal(list.disableCheck, true);
      assert.equal(list.disableGC, false);
      assert.equal(list.loadOnlyInlinedPlugins, false);
      assert.equal(text(list.bytes), LIST);
      // Go gives re-marshalled bytes ({"subnet":"10.0.0.1/24","type":"host-local"}); ours are the
      // file's slices, which mean the same.
      const goBytes = [
        '{"subnet":"10.0.0.1/24","type":"host-local"}',
        '{"mtu":1400,"type":"bridge"}',
        '{"ports":{"20.0.0.1:8080":"80"},"type":"port-forwarding"}',
      ];
      assert.deepEqual(
        list.plugins.map((p) => JSON.parse(text(p.bytes)) as unknown),
        goBytes.map((b) => JSON.parse(b) as unknown),
      );
      assert.equal(text(list.plugins[1]!.bytes), '{\n      "type": "bridge",\n      "mtu": 1400\n    }');
      assert.deepEqual(
        list.plugins.map((p) => p.network.type),
        ['host-local', 'bridge', 'port-forwarding'],
      );
    }));

  const SAME_NAME_CONF = '{ "name": "some-network", "cniVersion": "0.2.0", "type": "bridge" }';

  test('F11: a conflist is preferred over a .conf of the same name', () =>
    withDir({ '50-whatever.conflist': LIST, '49-whatever.conf': SAME_NAME_CONF }, async (dir) => {
      assert.equal((await loadNetworkConf(dir, 'some-network')).plugins.length, 3);
    }));

  test('F12: falls back to the .conf and up-converts it', () =>
    withDir({ '49-whatever.conf': SAME_NAME_CONF }, async (dir) => {
      const list = await loadNetworkConf(dir, 'some-network');
      assert.equal(list.plugins.length, 1);
      assert.equal(list.plugins[0]!.network.type, 'bridge');
      assert.equal(list.name, 'some-network');
      assert.equal(list.cniVersion, '0.2.0');
      assert.equal(text(list.plugins[0]!.bytes), SAME_NAME_CONF);
    }));

  test('F13: a missing directory is NoConfigsFoundError', async () => {
    const dir = path.join(os.tmpdir(), 'libcni-does-not-exist-4712');
    const e = await rejection(loadNetworkConf(dir, 'some-network'));
    assert.ok(e instanceof NoConfigsFoundError);
  });

  test('F14: an unknown name with only conflists present is NotFoundError', () =>
    withDir({ '50-whatever.conflist': LIST }, async (dir) => {
      const e = await rejection(loadNetworkConf(dir, 'some-other-network'));
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.networkName, 'some-other-network');
      assert.equal(e.dir, dir);
    }));

  test('F14: an empty directory is NoConfigsFoundError', () =>
    withDir({}, async (dir) => {
      assert.ok((await rejection(loadNetworkConf(dir, 'x'))) instanceof NoConfigsFoundError);
    }));

  test('F15: a malformed conflist sorting first aborts the lookup for any name', () =>
    withDir({ '50-whatever.conflist': LIST, '00-bad.conflist': '{' }, async (dir) => {
      const e = await rejection(loadNetworkConf(dir, 'some-network'));
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, 'error parsing configuration list: unexpected end of JSON input');
      assert.equal(e.file, path.join(dir, '00-bad.conflist'));
    }));

  test('F16: nested subdirectories are not searched', () =>
    withDir(
      {
        '50-whatever.conflist': LIST,
        'subdir1/subdir2/90-deep.conflist': '{"name":"deep","plugins":[{"type":"x"}]}',
      },
      async (dir) => {
        assert.match(
          (await rejection(loadNetworkConf(dir, 'deep'))).message,
          /^no net configuration with name/,
        );
      },
    ));

  test('F17: disableCheck as a string, via a file', () =>
    withDir(
      {
        '50-a.conflist': '{"name":"a","disableCheck":"true","plugins":[{"type":"x"}]}',
        '50-b.conflist': '{"name":"b","disableCheck":"false","plugins":[{"type":"x"}]}',
      },
      async (dir) => {
        assert.equal((await loadNetworkConf(dir, 'a')).disableCheck, true);
        assert.equal((await loadNetworkConf(dir, 'b')).disableCheck, false);
      },
    ));

  test('F19: an unreadable conflist', async () => {
    const e = await rejection(networkConfFromFile('/tmp/nope/not-here'));
    assert.match(e.message, /^error reading \/tmp\/nope\/not-here: open \/tmp\/nope\/not-here/);
  });

  test('a legacy file matching by name comes after all conflists, .conf and .json sorted together', () =>
    withDir(
      {
        '10-a.json': '{"name":"n","type":"from-json"}',
        '20-b.conf': '{"name":"n","type":"from-conf"}',
        '30-x.conflist': '{"name":"other","plugins":[{"type":"x"}]}',
      },
      async (dir) => {
        assert.equal((await loadNetworkConf(dir, 'n')).plugins[0]!.network.type, 'from-json');
      },
    ));
});

describe('F18 loadOnlyInlinedPlugins and the <dir>/<name>/ plugin subdirectory', () => {
  const SUB = '{\n  "type": "bro-check-out-my-plugin",\n  "subnet": "10.0.0.1/24"\n}';
  const inline = (extra: string): string =>
    `{"name":"some-network","cniVersion":"0.4.0"${extra},"plugins":[{"type":"host-local","subnet":"10.0.0.1/24"}]}`;

  test('true: parsed, and the subdirectory is ignored', () =>
    withDir(
      {
        '50-whatever.conflist': inline(',"loadOnlyInlinedPlugins":true'),
        'some-network/funky-second-plugin.conf': SUB,
      },
      async (dir) => {
        const list = await loadNetworkConf(dir, 'some-network');
        assert.equal(list.loadOnlyInlinedPlugins, true);
        assert.deepEqual(
          list.plugins.map((p) => p.network.type),
          ['host-local'],
        );
      },
    ));

  test('default false', () =>
    withDir({ '50-whatever.conflist': inline('') }, async (dir) => {
      assert.equal((await loadNetworkConf(dir, 'some-network')).loadOnlyInlinedPlugins, false);
    }));

  test('an invalid value is an error', () =>
    withDir({ '50-whatever.conflist': inline(',"loadOnlyInlinedPlugins":"sphagnum"') }, async (dir) => {
      assert.equal(
        (await rejection(loadNetworkConf(dir, 'some-network'))).message,
        'error parsing configuration list: invalid value "sphagnum" for loadOnlyInlinedPlugins',
      );
    }));

  test('true without plugins is an error', () =>
    withDir(
      { '50-whatever.conflist': '{"name":"some-network","loadOnlyInlinedPlugins":true}' },
      async (dir) => {
        assert.equal(
          (await rejection(loadNetworkConf(dir, 'some-network'))).message,
          "error parsing configuration list: `loadOnlyInlinedPlugins` is true, and no 'plugins' key",
        );
      },
    ));

  test('false without plugins loads the subdirectory plugins (any cniVersion)', () =>
    withDir(
      {
        '50-whatever.conflist': '{"name":"some-network","cniVersion":"0.4.0","loadOnlyInlinedPlugins":false}',
        'some-network/funky-second-plugin.conf': SUB,
      },
      async (dir) => {
        const list = await loadNetworkConf(dir, 'some-network');
        assert.equal(list.plugins.length, 1);
        assert.equal(text(list.plugins[0]!.bytes), SUB);
      },
    ));

  test('no plugins anywhere: "no plugin configs found"', () =>
    withDir({ '50-whatever.conflist': '{"name":"some-network","cniVersion":"0.4.0"}' }, async (dir) => {
      const e = await rejection(loadNetworkConf(dir, 'some-network'));
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, 'no plugin configs found');
      assert.equal(e.file, path.join(dir, '50-whatever.conflist'));
    }));

  test('inline plugins with no subdirectory, or an empty one, are fine', async () => {
    await withDir({ '50-whatever.conflist': inline('') }, async (dir) => {
      assert.equal((await loadNetworkConf(dir, 'some-network')).plugins.length, 1);
    });
    await withDir({ '50-whatever.conflist': inline(''), 'some-network/.keep-dir/x': '' }, async (dir) => {
      assert.equal((await loadNetworkConf(dir, 'some-network')).plugins.length, 1);
    });
  });

  test('inline and subdirectory plugins merge, inline first, subdirectory *.conf sorted, nothing else', () =>
    withDir(
      {
        '50-whatever.conflist': inline(''),
        'some-network/20-b.conf': '{"type":"second"}',
        'some-network/10-a.conf': '{"type":"first"}',
        'some-network/30-c.json': '{"type":"not-a-conf"}',
        'some-network/40-d.conflist': '{"type":"not-a-conf"}',
        'some-network/deeper/50-e.conf': '{"type":"too-deep"}',
      },
      async (dir) => {
        const list = await networkConfFromFile(path.join(dir, '50-whatever.conflist'));
        assert.deepEqual(
          list.plugins.map((p) => p.network.type),
          ['host-local', 'first', 'second'],
        );
      },
    ));

  test('a broken subdirectory plugin fails the list and names its file', () =>
    withDir({ '50-whatever.conflist': inline(''), 'some-network/10-a.conf': '{"name":"x"}' }, async (dir) => {
      const e = await rejection(loadNetworkConf(dir, 'some-network'));
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, "error parsing configuration: missing 'type'");
      assert.equal(e.file, path.join(dir, 'some-network', '10-a.conf'));
    }));
});

describe('confFiles', () => {
  test('exact extension match, byte order, files only, no recursion; a missing dir is []', () =>
    withDir(
      {
        'b.conf': '',
        'a.conflist': '',
        'B.conf': '',
        '.conf': '',
        'c.CONF': '',
        'd.conf.bak': '',
        '\u00e9.conf': '',
        'z.json': '',
        'sub.conf/x.conf': '',
      },
      async (dir) => {
        const names = (await confFiles(dir, ['.conf'])).map((f) => path.basename(f));
        assert.deepEqual(names, ['.conf', 'B.conf', 'b.conf', '\u00e9.conf']);
        assert.deepEqual(
          (await confFiles(dir, ['.json', '.conflist'])).map((f) => path.basename(f)),
          ['a.conflist', 'z.json'],
        );
        assert.deepEqual(await confFiles(path.join(dir, 'nope'), ['.conf']), []);
        assert.equal((await confFiles(dir, ['.conf']))[0], path.join(dir, '.conf'));
      },
    ));
});

describe('F22 confListFromConf', () => {
  test('up-converts a plugin into a list of one that round-trips', () => {
    const conf = pluginConfFromBytes('{"name":"some-plugin","cniVersion":"0.3.1", "type":"foobar"}');
    const list = confListFromConf(conf);
    assert.equal(list.name, 'some-plugin');
    assert.equal(list.cniVersion, '0.3.1');
    assert.equal(list.disableCheck, false);
    assert.equal(list.plugins.length, 1);
    assert.equal(list.plugins[0], conf);
    // Go's json.Marshal of the synthetic list: sorted keys, compact.
    assert.equal(
      text(list.bytes),
      '{"cniVersion":"0.3.1","name":"some-plugin","plugins":[{"cniVersion":"0.3.1","name":"some-plugin","type":"foobar"}]}',
    );
    const again = networkConfFromBytes(list.bytes);
    assert.equal(again.name, list.name);
    assert.equal(again.cniVersion, list.cniVersion);
    assert.deepEqual(again.plugins[0]!.network, conf.network);
  });

  test('a plugin without name or version gives empty strings, as Go', () => {
    const list = confListFromConf(pluginConfFromBytes('{"type":"x"}'));
    assert.equal(text(list.bytes), '{"cniVersion":"","name":"","plugins":[{"type":"x"}]}');
  });

  test('nesting thousands of levels deep up-converts (Go limits it to 10,000); deeper fails as in Go', async () => {
    const nested = (levels: number): string => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    const conf = (levels: number): string =>
      `{"cniVersion":"1.0.0","name":"deep","type":"bridge","x":${nested(levels)}}`;
    await withDir({ '10-deep.conf': conf(9990) }, async (dir) => {
      const list = await loadNetworkConf(dir, 'deep');
      assert.equal(list.plugins.length, 1);
      assert.ok(text(list.bytes).endsWith(`1${'}'.repeat(9990)}}]}`));
    });
    await withDir({ '10-deep.conf': conf(10_000) }, async (dir) => {
      const err = await rejection(loadNetworkConf(dir, 'deep'));
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /exceeded max depth/);
    });
  });
});

describe('loadNetworkConfDir', () => {
  test('every network in Go order; bad files and later duplicates are reported, never hiding good ones', () =>
    withDir(
      {
        '00-bad.conflist': '{',
        '10-a.conflist': '{"name":"a","plugins":[{"type":"x"}]}',
        '20-a-again.conflist': '{"name":"a","plugins":[{"type":"y"}]}',
        '30-b.conflist': '{"name":"b"}',
        '30-b.conf': '{"name":"legacy","type":"z"}',
        '05-a.json': '{"name":"a","type":"legacy-a"}',
        '40-notype.conf': '{"name":"c"}',
        'b/10-p.conf': '{"type":"from-subdir"}',
      },
      async (dir) => {
        const r = await loadNetworkConfDir(dir);
        assert.deepEqual(
          r.networks.map((n) => [
            path.basename(n.file),
            n.list.name,
            n.list.plugins.map((p) => p.network.type),
          ]),
          [
            ['10-a.conflist', 'a', ['x']],
            ['30-b.conflist', 'b', ['from-subdir']],
            ['30-b.conf', 'legacy', ['z']],
          ],
        );
        assert.deepEqual(
          r.errors.map((e) => [path.basename(e.file), e.error.constructor.name, e.error.file === e.file]),
          [
            ['00-bad.conflist', 'ConfigError', true],
            ['20-a-again.conflist', 'DuplicateNetworkError', true],
            ['05-a.json', 'DuplicateNetworkError', true],
            ['40-notype.conf', 'ConfigError', true],
          ],
        );
        const dup = r.errors[1]!.error;
        assert.ok(dup instanceof DuplicateNetworkError);
        assert.equal(dup.firstFile, path.join(dir, '10-a.conflist'));
        assert.equal(dup.networkName, 'a');
      },
    ));

  test('order files: every extension sorted together by name, the first definition of a name wins', () =>
    withDir(
      {
        '00-bad.conflist': '{',
        '10-a.conflist': '{"name":"a","plugins":[{"type":"x"}]}',
        '30-b.conflist': '{"name":"b","plugins":[{"type":"y"}]}',
        '30-b.conf': '{"name":"legacy","type":"z"}',
        '05-a.json': '{"name":"a","type":"legacy-a"}',
        '20-zeta.conf': '{"name":"zeta","type":"w"}',
      },
      async (dir) => {
        const r = await loadNetworkConfDir(dir, { order: 'files' });
        assert.deepEqual(
          r.networks.map((n) => [path.basename(n.file), n.list.name, n.list.plugins[0]?.network.type]),
          [
            ['05-a.json', 'a', 'legacy-a'],
            ['20-zeta.conf', 'zeta', 'w'],
            ['30-b.conf', 'legacy', 'z'],
            ['30-b.conflist', 'b', 'y'],
          ],
        );
        assert.deepEqual(
          r.errors.map((e) => [path.basename(e.file), e.error.constructor.name]),
          [
            ['00-bad.conflist', 'ConfigError'],
            ['10-a.conflist', 'DuplicateNetworkError'],
          ],
        );
        const onlyLists = await loadNetworkConfDir(dir, { order: 'files', includeLegacy: false });
        assert.deepEqual(
          onlyLists.networks.map((n) => path.basename(n.file)),
          ['10-a.conflist', '30-b.conflist'],
        );
      },
    ));

  test('legacy files can be left out; a missing directory is empty, not an error', async () => {
    await withDir({ '10-a.conf': '{"name":"a","type":"x"}' }, async (dir) => {
      assert.deepEqual(await loadNetworkConfDir(dir, { includeLegacy: false }), { networks: [], errors: [] });
    });
    assert.deepEqual(await loadNetworkConfDir(path.join(os.tmpdir(), 'libcni-nope-4713')), {
      networks: [],
      errors: [],
    });
  });
});
