"""guardians.csv gives a relationship per guardian and student: a contact who is one child's
relative and another's parent is a guardian (of the second) whatever the order of the rows,
and each link carries its own row's relationship.

The first row decided for the person: first a relative, they were not synced at all under the
default guardian_roles (the parent link never made, and no row said so), every link read
`relative` when relatives were synced, and narrowing guardian_roles archived the parent link.
"""

from __future__ import annotations

import pytest

from tests.district import guardian_of


@pytest.fixture
def aunt_and_mother(tiny):
    """gf-1 is stu-1's relative (first row) and stu-2's parent."""
    tiny.rows("guardians.csv").append(dict(guardian_of("stu-1", "gf-1"), relationship="relative"))
    tiny.rows("guardians.csv").append(dict(guardian_of("stu-2", "gf-1"), relationship="parent"))
    return tiny


def _links_of(sync, guardian: str) -> dict[str, str]:
    """student SIS id -> relationship, of the guardian's active links."""
    return dict(
        sync.engine.db.rows(
            """SELECT s.sis_id, l.relationship FROM guardian_links l
               JOIN users s ON s.user_id = l.student_id JOIN users g ON g.user_id = l.guardian_id
               WHERE g.sis_id = ? AND l.status = 'active'""",
            [guardian],
        )
    )


def test_a_relative_of_one_child_is_the_parent_of_the_next_under_the_default_roles(
    sync, aunt_and_mother
):
    sync.apply(aunt_and_mother)
    assert _links_of(sync, "gf-1") == {"stu-2": "parent"}


def test_each_link_has_its_rows_relationship(sync, aunt_and_mother):
    sync.engine.settings_set("guardian_roles", "parent,guardian,relative")
    sync.apply(aunt_and_mother)
    assert _links_of(sync, "gf-1") == {"stu-1": "relative", "stu-2": "parent"}


def test_narrowing_guardian_roles_archives_only_the_relatives_link(sync, aunt_and_mother):
    sync.engine.settings_set("guardian_roles", "parent,guardian,relative")
    sync.engine.settings_set("deletion_threshold", "100")
    sync.apply(aunt_and_mother)
    sync.engine.settings_set("guardian_roles", "parent,guardian")
    sync.apply(aunt_and_mother)
    assert _links_of(sync, "gf-1") == {"stu-2": "parent"}


def test_the_same_drop_again_plans_nothing(sync, aunt_and_mother):
    sync.engine.settings_set("guardian_roles", "parent,guardian,relative")
    sync.apply(aunt_and_mother)
    assert sync.plan(aunt_and_mother).total_changes() == 0


def test_an_export_synced_back_plans_nothing(sync, aunt_and_mother, tmp_path):
    sync.engine.settings_set("guardian_roles", "parent,guardian,relative")
    aunt_and_mother.rows("guardians.csv").reverse()  # the parent's row first: the role it gives
    sync.apply(aunt_and_mother)
    sync.engine.export(str(tmp_path / "export"))
    assert sync.plan(tmp_path / "export").total_changes() == 0
