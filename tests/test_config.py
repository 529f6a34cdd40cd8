"""cairn.config: deprecated and removed keys, as dask.config handles them."""

from __future__ import annotations

import pytest
import yaml

import cairn


@pytest.fixture
def renamed(monkeypatch):
    """A library's renamed key and removed key, in cairn's deprecation table."""
    monkeypatch.setitem(cairn.config.deprecations, "old-width", "layout.width")
    monkeypatch.setitem(cairn.config.deprecations, "layout.gone", None)


@pytest.mark.parametrize("args,kwargs", [((), {"old_width": 3}), (({"old-width": 3},), {}),
                                         (({"old_width": 3},), {})])
def test_setting_a_renamed_key_warns_and_sets_the_new_key(renamed, args, kwargs):
    with pytest.warns(FutureWarning, match=r"'layout\.width' instead"):
        with cairn.config.set(*args, **kwargs):
            assert cairn.config.get("layout.width") == 3
    assert cairn.config.get("layout.width", None) is None


def test_setting_a_removed_key_is_an_error_and_changes_nothing(renamed):
    d: dict = {}
    with pytest.raises(ValueError, match=r"'layout\.gone' has been removed"):
        cairn.config.set({"layout.gone": 1}, config=d)
    assert d == {}


def test_a_renamed_key_in_the_environment_is_moved(renamed):
    d: dict = {}
    with pytest.warns(FutureWarning, match=r"layout\.width"):
        cairn.config.refresh(config=d, paths=[], env={"CAIRN_OLD_WIDTH": "4"})
    assert d == {"layout": {"width": 4}}


def test_a_renamed_key_in_several_files_warns_once(renamed, tmp_path):
    (tmp_path / "1.yaml").write_text(yaml.dump({"old-width": 5}))
    (tmp_path / "2.yaml").write_text(yaml.dump({"old_width": 5}))
    d: dict = {}
    with pytest.warns(FutureWarning, match=r"layout\.width") as caught:
        cairn.config.refresh(config=d, defaults=[], paths=[tmp_path], env={})
    assert len(caught) == 1
    assert d == {"layout": {"width": 5}}


def test_a_renamed_key_overridden_by_a_winning_file_is_silent(renamed, tmp_path, recwarn):
    (tmp_path / "1.yaml").write_text(yaml.dump({"old-width": 5}))
    (tmp_path / "2.yaml").write_text(yaml.dump({"layout": {"width": 6}}))
    d: dict = {}
    cairn.config.refresh(config=d, defaults=[], paths=[tmp_path], env={})
    assert d == {"layout": {"width": 6}}
    assert not [w for w in recwarn if issubclass(w.category, FutureWarning)]


def test_a_removed_key_in_a_file_is_dropped_with_a_warning_unless_ignored(renamed, tmp_path):
    (tmp_path / "1.yaml").write_text(yaml.dump({"layout": {"gone": 1, "width": 2}}))
    d: dict = {}
    with pytest.warns(FutureWarning, match=r"ignore-deprecated\.layout\.gone"):
        cairn.config.refresh(config=d, defaults=[], paths=[tmp_path], env={})
    assert d == {"layout": {"width": 2}}

    (tmp_path / "2.yaml").write_text(yaml.dump({"ignore-deprecated": {"layout": {"gone": 1}}}))
    d = {}
    cairn.config.refresh(config=d, defaults=[], paths=[tmp_path], env={})
    assert d["layout"] == {"width": 2}


@pytest.mark.parametrize("unreadable", ["file", "folder"])
def test_unreadable_config_files_and_folders_are_skipped(tmp_path, monkeypatch, unreadable):
    # (chmod cannot make a file unreadable to root, who runs CI: refuse the reads instead)
    import builtins
    import os

    (tmp_path / "a.yaml").write_text(yaml.dump({"x": 1, "y": 2}))
    (tmp_path / "b.yaml").write_text(yaml.dump({"y": 3, "z": 4}))
    real_open, real_listdir = builtins.open, os.listdir

    def refusing_open(path, *args, **kwargs):
        if os.fspath(path) == str(tmp_path / "a.yaml"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    def refusing_listdir(path):
        if os.fspath(path) == str(tmp_path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_listdir(path)

    if unreadable == "file":
        monkeypatch.setattr(builtins, "open", refusing_open)
        expected = {"y": 3, "z": 4}
    else:
        monkeypatch.setattr(os, "listdir", refusing_listdir)
        expected = {}
    assert cairn.config.merge(*cairn.config.collect_yaml(paths=[tmp_path])) == expected
