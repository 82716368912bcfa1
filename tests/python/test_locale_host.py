"""A Python host under a comma-decimal locale (``locale.setlocale(LC_ALL,
"de_DE.UTF-8")``, as a program that honours the user's locale does): the C
library still reads and writes numbers with '.', so presets load and agent
configurations print as in the "C" locale.

The locale is the system's, or compiled with ``localedef`` into a temporary
folder (used through LOCPATH); without either the test is skipped. The
process's locale and LOCPATH are restored afterwards.
"""

from __future__ import annotations

import ctypes
import locale
import os
import shutil
import subprocess

import pytest


def _try(name: str) -> bool:
    try:
        locale.setlocale(locale.LC_ALL, name)
    except locale.Error:
        return False
    if locale.localeconv()["decimal_point"] != ",":
        locale.setlocale(locale.LC_ALL, "C")
        return False
    return True


@pytest.fixture
def comma_locale(tmp_path):
    saved = locale.setlocale(locale.LC_ALL)
    saved_path = os.environ.get("LOCPATH")
    try:
        if not _try("de_DE.UTF-8"):
            if shutil.which("localedef") is None:
                pytest.skip("no de_DE.UTF-8 locale and no localedef to compile one")
            subprocess.run(
                ["localedef", "-i", "de_DE", "-f", "UTF-8", str(tmp_path / "de_DE.UTF-8")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            os.environ["LOCPATH"] = str(tmp_path)
            if not _try("de_DE.UTF-8"):
                pytest.skip("localedef could not compile de_DE.UTF-8")
        yield
    finally:
        locale.setlocale(locale.LC_ALL, saved)
        if saved_path is None:
            os.environ.pop("LOCPATH", None)
        else:
            os.environ["LOCPATH"] = saved_path


def test_presets_and_config_text(clib, comma_locale):
    lib = ctypes.CDLL(clib.path)
    vp = ctypes.c_void_p
    lib.brl_last_error.restype = ctypes.c_char_p
    # brl_agent_config_preset is an inline wrapper in the header: ctypes
    # calls the exported _sized function with the library's struct size.
    lib.brl_abi_struct_size.restype = ctypes.c_size_t
    lib.brl_abi_struct_size.argtypes = [ctypes.c_char_p]
    lib.brl_agent_config_preset_sized.argtypes = [
        vp,
        ctypes.c_size_t,
        ctypes.c_char_p,
        ctypes.c_int,
        vp,
    ]
    lib.brl_agent_config_get.argtypes = [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.brl_agent_config_set.argtypes = [vp, ctypes.c_char_p, ctypes.c_char_p]
    assert locale.format_string("%g", 0.5) == "0,5"  # the host's locale is on
    size = lib.brl_abi_struct_size(b"brl_agent_config")
    assert 0 < size <= 16384
    cfg = ctypes.create_string_buffer(16384)  # larger than brl_agent_config
    out = ctypes.create_string_buffer(64)
    for algo in range(4):  # ppo, a2c, awr, dqn
        rc = lib.brl_agent_config_preset_sized(cfg, size, b"CartPole-v1", algo, None)
        assert rc == 0, lib.brl_last_error().decode()
    assert lib.brl_agent_config_preset_sized(cfg, size, b"CartPole-v1", 0, None) == 0
    assert lib.brl_agent_config_get(cfg, b"gamma", out, 64) == 0
    assert out.value == b"0.99"
    assert lib.brl_agent_config_set(cfg, b"vf_coef", b"0.625") == 0
    assert lib.brl_agent_config_get(cfg, b"vf_coef", out, 64) == 0
    assert out.value == b"0.625"
    assert lib.brl_agent_config_set(cfg, b"vf_coef", b"0,625") != 0
    assert locale.format_string("%g", 0.5) == "0,5"  # and still on
