"""The mixed loader's label semantics and the balanced sampler."""

import numpy as np
import pytest

from training.data import DatasetError
from training.mixed import IGNORE, group_of, load_mixed, read_negatives
from training.sampling import BalancedSampler


@pytest.fixture(scope="module")
def valid_mix(shared_data):
    return load_mixed(shared_data / "qata-cov19", shared_data / "cxr-negatives", "valid", limit=16)


def test_every_kind_gets_its_own_targets(valid_mix):
    a = valid_mix
    kinds = {a.kind(i) for i in range(len(a))}
    assert {
        "qata",
        "normal-adult",
        "normal-pediatric",
        "pneumonia-pediatric",
        "tuberculosis-adult",
    } <= kinds
    for i in range(len(a)):
        if a.labels[i] == "covid":
            assert a.has_mask[i] and a.has_zones[i] and a.presence[i] == 1
            assert a.masks[i].max() == 1 and set(np.unique(a.masks[i])) <= {0, 1}
        elif a.labels[i] == "normal":
            assert a.has_mask[i] and not a.has_zones[i] and a.presence[i] == 0
            assert a.masks[i].max() == 0  # a normal film: an empty mask is the truth
        else:
            assert a.labels[i] in ("pneumonia", "tuberculosis")
            assert a.presence[i] == 1 and not a.has_mask[i] and not a.has_zones[i]


def test_pneumonia_and_tb_are_never_given_an_empty_mask(valid_mix):
    a = valid_mix
    abnormal = np.array([lab in ("pneumonia", "tuberculosis") for lab in a.labels])
    assert abnormal.sum() >= 4
    # no outline known: every pixel says "unknown", none says "no lesion"
    assert (a.masks[abnormal] == IGNORE).all()
    assert not a.has_mask[abnormal].any()


def test_splits_are_the_data_sets_own(shared_data):
    neg = read_negatives(shared_data / "cxr-negatives")
    assert len(neg) == 3499
    assert sum(r.split == "valid" for r in neg) == 524
    assert group_of("adult-normal-nih-0007.png") == "adult-normal-nih"


def test_a_bad_label_names_the_file_and_row(tmp_path):
    (tmp_path / "labels.csv").write_text(
        "split,image,label,population,source,source_path\ntrain,x-0001.png,covid,adult,s,p\n"
    )
    with pytest.raises(DatasetError, match=r"labels\.csv: label 'covid' for x-0001\.png"):
        read_negatives(tmp_path)


def _toy_groups():
    groups = (
        ["qata"] * 50
        + ["adult-normal"] * 40
        + ["pediatric-normal"] * 10
        + ["pediatric-pneumonia"] * 10
        + ["tuberculosis-adult"] * 5
    )
    presence = [1.0] * 50 + [0.0] * 50 + [1.0] * 15
    return groups, presence


def test_every_batch_mixes_the_strata_by_quota():
    groups, presence = _toy_groups()
    s = BalancedSampler(groups, presence, batch_size=16, seed=3)
    assert s.quota == [6, 7, 3]
    seen = set()
    for step in range(40):
        idx = s.batch(step)
        assert len(idx) == 16
        g = [groups[i] for i in idx]
        assert g.count("qata") == 6
        assert sum(x.endswith("normal") for x in g) == 7
        assert sum(presence[i] for i in idx) == 9
        seen.update(g)
    assert seen == set(groups)  # small groups come up too


def test_small_groups_are_drawn_by_square_root_of_size():
    groups, presence = _toy_groups()
    s = BalancedSampler(groups, presence, batch_size=16, seed=0)
    normal = s.strata.index("normal")
    w = dict(zip(s.groups[normal], s.weights[normal], strict=True))
    assert w["pediatric-normal"] == pytest.approx(np.sqrt(10) / (np.sqrt(10) + np.sqrt(40)))


def test_a_batch_depends_only_on_seed_and_step():
    groups, presence = _toy_groups()
    a = BalancedSampler(groups, presence, 16, seed=1)
    b = BalancedSampler(groups, presence, 16, seed=1)
    assert (a.batch(7) == b.batch(7)).all()  # a resumed run sees the same batch
    assert not (a.batch(7) == a.batch(8)).all()


def test_qata_alone_fills_the_whole_batch():
    s = BalancedSampler(["qata"] * 5, [1.0] * 5, batch_size=4)
    assert s.quota == [4] and len(s.batch(0)) == 4


def test_the_zone_holdout_is_the_last_qata_train_rows_only(shared_data):
    from training.mixed import split_holdout

    train = load_mixed(shared_data / "qata-cov19", shared_data / "cxr-negatives", "train", limit=20)
    keep, held = split_holdout(train, 0.25)
    assert len(held) == 5 and set(held.groups) == {"qata"}
    assert held.names == train.names[15:20]
    assert len(keep) == len(train) - 5 and not set(keep.names) & set(held.names)
    assert keep.kind(len(keep) - 1) != "qata"  # every negative stays in training
    assert len(split_holdout(train, 0.0)[1]) == 0
