"""The Galaxy Zoo campaigns' decision trees, as data: Kaggle's 37 columns (the default), GZ2, GZ DECaLS.

This module is the single source of the column schema: every other module (preprocessing, training, scoring)
takes names, slices and parents from a campaign here. The module-level names (COLUMNS, SLICES, ...) are the
default campaign's, Kaggle's.
"""

from preprocess.tree import Campaign, Question

# Kaggle's 2014 challenge (Willett et al. 2013, Galaxy Zoo 2, table 2): question -> its answers and the answer
# leading to it. Its solutions hold fractions only, `Class{question}.{answer}`.
KAGGLE_TREE: dict[int, tuple[tuple[str, ...], str | None]] = {
    1: (("smooth", "features or disk", "star or artifact"), None),
    2: (("edge-on", "not edge-on"), "Class1.2"),
    3: (("barred", "no bar"), "Class2.2"),
    4: (("spiral", "no spiral arms"), "Class2.2"),
    5: (("no bulge", "noticeable bulge", "obvious bulge", "dominant bulge"), "Class2.2"),
    6: (("odd", "nothing odd"), None),
    7: (("completely round", "in between", "cigar-shaped"), "Class1.1"),
    8: (("ring", "lens or arc", "disturbed", "irregular", "other", "merger", "dust lane"), "Class6.1"),
    9: (("rounded bulge", "boxy bulge", "no bulge"), "Class2.1"),
    10: (("tight", "medium", "loose"), "Class4.1"),
    11: (("1", "2", "3", "4", "more than 4", "can't tell"), "Class4.1"),
}

KAGGLE = Campaign(
    "kaggle",
    "GalaxyID",
    tuple(
        Question(q, tuple(f"Class{q}.{a}" for a in range(1, len(answers) + 1)), answers, parent)
        for q, (answers, parent) in KAGGLE_TREE.items()
    ),
    counts=False,
)

# GZ2's tree is Kaggle's; its catalog (Hart et al. 2016, gz2_hart16.csv) counts each answer in
# `{task}_{answer}_count` and keeps no total per question.
GZ2_TASKS = {
    1: ("t01_smooth_or_features", ("a01_smooth", "a02_features_or_disk", "a03_star_or_artifact")),
    2: ("t02_edgeon", ("a04_yes", "a05_no")),
    3: ("t03_bar", ("a06_bar", "a07_no_bar")),
    4: ("t04_spiral", ("a08_spiral", "a09_no_spiral")),
    5: ("t05_bulge_prominence", ("a10_no_bulge", "a11_just_noticeable", "a12_obvious", "a13_dominant")),
    6: ("t06_odd", ("a14_yes", "a15_no")),
    7: ("t07_rounded", ("a16_completely_round", "a17_in_between", "a18_cigar_shaped")),
    8: (
        "t08_odd_feature",
        ("a19_ring", "a20_lens_or_arc", "a21_disturbed", "a22_irregular", "a23_other", "a24_merger", "a38_dust_lane"),
    ),  # fmt: skip
    9: ("t09_bulge_shape", ("a25_rounded", "a26_boxy", "a27_no_bulge")),
    10: ("t10_arms_winding", ("a28_tight", "a29_medium", "a30_loose")),
    11: ("t11_arms_number", ("a31_1", "a32_2", "a33_3", "a34_4", "a36_more_than_4", "a37_cant_tell")),
}


def _gz2_column(kaggle_column: str) -> str:
    question, answer = (int(part) for part in kaggle_column.removeprefix("Class").split("."))
    task, answers = GZ2_TASKS[question]
    return f"{task}_{answers[answer - 1]}_count"


GZ2 = Campaign(
    "gz2",
    "dr7objid",
    tuple(
        Question(
            GZ2_TASKS[q.key][0],
            tuple(_gz2_column(column) for column in q.columns),
            q.answers,
            None if q.parent is None else _gz2_column(q.parent),
        )
        for q in KAGGLE.questions
    ),
    counts=True,
)


def _decals(tree: dict[str, tuple[tuple[str, ...], str | None]], name: str) -> Campaign:
    """A GZ DECaLS-layout campaign: answer counts `{question}_{answer}`, totals `{question}_total-votes`."""
    return Campaign(
        name,
        "iauname",
        tuple(
            Question(q, tuple(f"{q}_{a}" for a in answers), answers, parent, f"{q}_total-votes")
            for q, (answers, parent) in tree.items()
        ),
        counts=True,
    )


# GZ DECaLS DR5 and later, GZ DESI too (Walmsley et al. 2022, figure 4): question -> answers, leading answer.
DECALS_TREE = {
    "smooth-or-featured": (("smooth", "featured-or-disk", "artifact"), None),
    "disk-edge-on": (("yes", "no"), "smooth-or-featured_featured-or-disk"),
    "has-spiral-arms": (("yes", "no"), "disk-edge-on_no"),
    "bar": (("strong", "weak", "no"), "disk-edge-on_no"),
    "bulge-size": (("dominant", "large", "moderate", "small", "none"), "disk-edge-on_no"),
    "how-rounded": (("round", "in-between", "cigar-shaped"), "smooth-or-featured_smooth"),
    "edge-on-bulge": (("boxy", "none", "rounded"), "disk-edge-on_yes"),
    "spiral-winding": (("tight", "medium", "loose"), "has-spiral-arms_yes"),
    "spiral-arm-count": (("1", "2", "3", "4", "more-than-4", "cant-tell"), "has-spiral-arms_yes"),
    "merging": (("none", "minor-disturbance", "major-disturbance", "merger"), None),
}
# GZ DECaLS DR1 and DR2 asked a few questions otherwise: bars yes or no, three bulge sizes, no "can't tell" arms,
# and other merger answers.
DECALS_DR12_TREE = {
    **DECALS_TREE,
    "bar": (("yes", "no"), "disk-edge-on_no"),
    "bulge-size": (("dominant", "obvious", "none"), "disk-edge-on_no"),
    "how-rounded": (("completely", "in-between", "cigar-shaped"), "smooth-or-featured_smooth"),
    "spiral-arm-count": (("1", "2", "3", "4", "more-than-4"), "has-spiral-arms_yes"),
    "merging": (("neither", "tidal-debris", "both", "merger"), None),
}
DECALS = _decals(DECALS_TREE, "decals")
DECALS_DR12 = _decals(DECALS_DR12_TREE, "decals-dr12")

CAMPAIGNS: dict[str, Campaign] = {c.name: c for c in (KAGGLE, GZ2, DECALS, DECALS_DR12)}


def campaign(name: str) -> Campaign:
    """The campaign of that name, or a ValueError naming the known ones."""
    if name not in CAMPAIGNS:
        raise ValueError(f"unknown campaign {name!r}; known: {', '.join(CAMPAIGNS)}")
    return CAMPAIGNS[name]


# The default campaign's names, which the Kaggle stages read.
QUESTIONS: dict[int, tuple[int, str | None]] = {q: (len(a), p) for q, (a, p) in KAGGLE_TREE.items()}
ANSWERS: dict[int, tuple[str, ...]] = {q: a for q, (a, _) in KAGGLE_TREE.items()}
COLUMNS: list[str] = KAGGLE.columns
HEADER: list[str] = KAGGLE.header
N_COLUMNS = len(COLUMNS)
SLICES: dict[int, slice] = KAGGLE.slices
PARENT_INDEX: dict[int, int | None] = KAGGLE.parent_index
row_hierarchy_errors = KAGGLE.row_hierarchy_errors
hierarchy_errors = KAGGLE.hierarchy_errors

# Kaggle's own labels are off the tree by up to ~1e-5 in a few rows; a row off by more is an error.
TREE_TOLERANCE = 1e-3
