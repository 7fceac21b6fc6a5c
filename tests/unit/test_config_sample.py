"""The checked-in configuration sample matches the options the code declares."""
from __future__ import annotations

import io
from pathlib import Path

from oslo_config import cfg, generator

ROOT = Path(__file__).resolve().parents[2]


def test_sample_is_not_stale():
    conf = cfg.ConfigOpts()
    generator.register_cli_opts(conf)
    conf(['--config-file', str(ROOT / 'etc' / 'cbr' / 'cbr-config-generator.conf')])
    out = io.StringIO()
    generator.generate(conf, output_file=out)
    sample = (ROOT / 'etc' / 'cbr' / 'cbr.conf.sample').read_text()
    assert out.getvalue() == sample, (
        'etc/cbr/cbr.conf.sample is stale: run '
        '`oslo-config-generator --config-file etc/cbr/cbr-config-generator.conf`')


def test_every_option_has_help():
    from cbr_common.config import list_opts

    missing = ['%s.%s' % (group, opt.name) for group, opts in list_opts() for opt in opts
               if not (opt.help or '').strip()]
    assert missing == []
