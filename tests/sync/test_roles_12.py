"""OneRoster 1.2: a user's role comes from roles.csv, the same one every night."""

from __future__ import annotations

import shutil


def _drop(sample, tmp_path, rows: dict[str, str]):
    folder = tmp_path / "oneroster12"
    shutil.copytree(sample / "oneroster12", folder)
    roles = folder / "roles.csv"
    text = roles.read_text()
    for old, new in rows.items():
        assert old in text
        text = text.replace(old, new)
    roles.write_text(text)
    return folder


NO_PRIMARY = {
    "tch-5001,primary,teacher,2026-08-24,,sch-oak": "tch-5001,secondary,aide,2026-08-24,,sch-oak",
}


def test_without_a_primary_role_the_first_listed_role_is_the_users(sync, sample, tmp_path):
    sync.apply(_drop(sample, tmp_path, NO_PRIMARY))
    assert sync.user("tch-5001")["role"] == "aide"


def test_a_user_with_several_roles_and_no_primary_is_unchanged_the_next_night(
    sync, sample, tmp_path
):
    drop = _drop(sample, tmp_path, NO_PRIMARY)
    sync.apply(drop)
    assert sync.plan(drop).total_changes() == 0


def test_a_changes_only_role_row_without_its_users_row_says_it_was_not_applied(
    sync, sample, tmp_path
):
    sync.apply(_drop(sample, tmp_path, {}))
    folder = tmp_path / "delta"
    folder.mkdir()
    roles = (sample / "oneroster12" / "roles.csv").read_text().splitlines()
    [row] = [line for line in roles if ",tch-5001,primary," in line]
    (folder / "roles.csv").write_text(f"{roles[0]}\n{row.replace(',teacher,', ',aide,')}\n")
    (folder / "users.csv").write_text(
        (sample / "oneroster12" / "users.csv").read_text().splitlines()[0] + "\n"
    )
    manifest = (sample / "oneroster12" / "manifest.csv").read_text().splitlines()
    (folder / "manifest.csv").write_text(
        "\n".join(
            f"{line.split(',')[0]},delta"
            if line.startswith(("file.users,", "file.roles,"))
            else f"{line.split(',')[0]},absent"
            if line.startswith("file.")
            else line
            for line in manifest
        )
        + "\n"
    )
    run = sync.plan(folder)
    assert run.total_changes() == 0
    [issue] = sync.issues(run, "WARNING")
    assert issue["rule"] == "role_without_user_row"
    assert issue["line"] == 2 and "tch-5001" in issue["message"]
