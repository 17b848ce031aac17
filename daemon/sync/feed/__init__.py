"""The feed as desired rows: each `build_desired_*` turns a drop's staging into one row per
record the feed wants, shaped like its directory table, matched to the directory and carrying
where it came from. `users` holds people (and their roles, demographics and guardians.csv
entries), `classes` schools, classrooms and enrollments, `links` guardian links and attributes.
"""
