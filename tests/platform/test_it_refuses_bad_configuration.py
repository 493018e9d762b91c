"""A wrong setting stops start-up with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MARKET_HOURS", "FERNET_KEYS")}
    clean.update({"DJANGO_SETTINGS_MODULE": "platform.settings", "VAR_DIR": str(tmp_path), **env})
    return subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DATABASE_URL": "mysq://x@y/z", "SECRET_KEY": "s"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://127.0.0.1:6379", "SECRET_KEY": "s"}, "REDIS_URL"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/0"}, "SECRET_KEY"),
        ({"MARKET_HOURS": "sometimes"}, "MARKET_HOURS"),
        ({"OUTSIDE_HOURS_POLICY": "maybe"}, "OUTSIDE_HOURS_POLICY"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/0", "SECRET_KEY": "s"}, "FERNET_KEYS"),
        ({"FERNET_KEYS": "not-a-key"}, "FERNET_KEYS"),
    ],
)
def test_it_names_the_bad_variable(env: dict[str, str], named: str, tmp_path: Path) -> None:
    out = start(env, tmp_path)
    assert out.returncode != 0
    assert named in out.stderr


def test_no_variables_at_all_is_the_embedded_default(tmp_path: Path) -> None:
    code = "import django; django.setup(); from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.TIME_ZONE, s.LANGUAGE_CODE)"
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MARKET_HOURS", "FERNET_KEYS")}
    clean.update({"DJANGO_SETTINGS_MODULE": "platform.settings", "VAR_DIR": str(tmp_path)})
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["django.db.backends.sqlite3", "True", "Asia/Seoul", "ko-kr"]


def test_the_redis_layer_reads_longer_than_it_blocks(tmp_path: Path) -> None:
    """redis-py's default 5 s read timeout equals channels_redis' 5 s blocking pop; under load that killed consumers."""
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "from channels_redis.core import RedisChannelLayer as L; "
        "print(s.CHANNEL_LAYERS['default']['CONFIG']['hosts'][0]['socket_timeout'] > L.brpop_timeout)"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MARKET_HOURS", "FERNET_KEYS")}
    clean.update({"DJANGO_SETTINGS_MODULE": "platform.settings", "VAR_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/9", "SECRET_KEY": "s"})
    clean["FERNET_KEYS"] = "wyrYbnIgiY4va8Wd4QnGWEBAASoMWwEnfy5jK42Yy3E="
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr
