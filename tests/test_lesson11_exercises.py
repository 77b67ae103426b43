"""The lesson-11 exercise specs accept the references and the solutions, and reject wrong answers."""

import torch
import torch.nn.functional as F

from mmlearn.distributed import local_clip_loss, ring_siglip_loss
from mmlearn.exercises import check
from mmlearn.exercises.checker import passed
from mmlearn.losses import clip_loss, siglip_loss


def solution_local_clip_loss(image_parts, text_parts, rank, logit_scale):
    image = F.normalize(image_parts[rank], dim=-1)
    text = F.normalize(text_parts[rank], dim=-1)
    all_image = F.normalize(torch.cat(list(image_parts)), dim=-1)
    all_text = F.normalize(torch.cat(list(text_parts)), dim=-1)
    n = image.shape[0]
    targets = torch.arange(n) + rank * n
    per_image = F.cross_entropy(logit_scale * image @ all_text.T, targets)
    per_text = F.cross_entropy(logit_scale * text @ all_image.T, targets)
    return (per_image + per_text) / 2


def solution_ring_siglip_loss(image_parts, text_parts, rank, logit_scale, logit_bias):
    world = len(image_parts)
    image = F.normalize(image_parts[rank], dim=-1)
    n = image.shape[0]
    total = image.new_zeros(())
    for k in range(world):
        text = F.normalize(text_parts[(rank + k) % world], dim=-1)
        logits = logit_scale * image @ text.T + logit_bias
        labels = 2 * torch.eye(n) - 1 if k == 0 else -torch.ones(n, n)
        total = total + -F.logsigmoid(labels * logits).sum()
    return total / n


def test_references_and_solutions_pass(capsys):
    for fn in (local_clip_loss, solution_local_clip_loss):
        check("11.1", fn)
        assert passed("11.1")
    for fn in (ring_siglip_loss, solution_ring_siglip_loss):
        check("11.2", fn)
        assert passed("11.2")


def test_typical_mistakes_fail_with_a_useful_message(capsys):
    def no_offset(image_parts, text_parts, rank, logit_scale):  # targets 0..n-1 on every rank
        image = F.normalize(image_parts[rank], dim=-1)
        all_text = F.normalize(torch.cat(list(text_parts)), dim=-1)
        text = F.normalize(text_parts[rank], dim=-1)
        all_image = F.normalize(torch.cat(list(image_parts)), dim=-1)
        targets = torch.arange(image.shape[0])
        return (
            F.cross_entropy(logit_scale * image @ all_text.T, targets)
            + F.cross_entropy(logit_scale * text @ all_image.T, targets)
        ) / 2

    def own_share_only(image_parts, text_parts, rank, logit_scale):  # no gather at all
        return clip_loss(image_parts[rank], text_parts[rank], logit_scale)

    for wrong in (no_offset, own_share_only):
        check("11.1", wrong)
        assert not passed("11.1")
        assert "rank" in capsys.readouterr().out

    def positives_every_step(image_parts, text_parts, rank, logit_scale, logit_bias):
        return siglip_loss(image_parts[rank], text_parts[rank], logit_scale, logit_bias) * len(image_parts)

    check("11.2", positives_every_step)
    assert not passed("11.2")
    assert "rank" in capsys.readouterr().out
