"""Two Gloo processes on the CPU equal one process with the whole batch (lesson 11, mmlearn.distributed).

The worker (tests/fixtures/ddp_worker.py) runs under torchrun, as a user would
launch the training; rank 0 saves what the two processes computed.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ddp_common import LOSS_KINDS, pairs, tiny_encoders, train_options

from mmlearn.distributed import AcrossRanks, gathered_clip_loss, gathered_siglip_loss, rank_and_world
from mmlearn.losses import clip_loss, siglip_loss
from mmlearn.training import train_contrastive

TESTS = Path(__file__).parent
WORKER = TESTS / "fixtures" / "ddp_worker.py"


def torchrun(mode: str, out: Path, expect_ok: bool = True) -> subprocess.CompletedProcess:
    env = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    cmd += [str(WORKER), mode, str(out), str(TESTS)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if expect_ok:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp") / "step.pt"
    torchrun("step", out)
    return torch.load(out, weights_only=True)


@pytest.mark.parametrize("kind", LOSS_KINDS)
def test_two_processes_give_the_loss_and_gradients_of_one(kind, two_processes):
    image_encoder, text_encoder, loss = tiny_encoders(kind)
    images, texts = pairs(16)
    value = AcrossRanks(loss, local_loss=kind == "clip_local")(image_encoder(images), text_encoder(texts))
    value.backward()
    grads = [p.grad for m in (image_encoder, text_encoder, loss) for p in m.parameters()]
    theirs = two_processes[kind]
    assert abs(theirs["loss"] - value.item()) <= 1e-5
    assert len(theirs["grads"]) == len(grads)
    for mine, other in zip(grads, theirs["grads"], strict=True):
        torch.testing.assert_close(other, mine, atol=1e-5, rtol=0)
    # The temperature (and SigLIP's bias) are trained too: their gradients are not zero.
    assert all(g.abs().sum() > 0 for g in grads[-2 if kind == "siglip" else -1 :])


def test_without_a_process_group_the_gathered_losses_are_the_plain_ones():
    assert rank_and_world() == (0, 1)
    torch.manual_seed(0)
    u, v = torch.randn(6, 4), torch.randn(6, 4)
    scale, bias = torch.tensor(7.0), torch.tensor(-3.0)
    assert torch.allclose(gathered_clip_loss(u, v, scale), clip_loss(u, v, scale))
    assert torch.allclose(gathered_clip_loss(u, v, scale, local_loss=True), clip_loss(u, v, scale))
    assert torch.allclose(gathered_siglip_loss(u, v, scale, bias), siglip_loss(u, v, scale, bias))


def test_bad_arguments_are_named():
    from mmlearn.losses import SigLipLoss

    with pytest.raises(TypeError, match="loss must be a ClipLoss or SigLipLoss"):
        AcrossRanks(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="local_loss"):
        AcrossRanks(SigLipLoss(), local_loss=True)
    with pytest.raises(TypeError, match="local_loss"):
        gathered_clip_loss(torch.randn(3, 2), torch.randn(3, 2), 5.0, local_loss="yes")


def test_two_process_training_equals_one_process_and_resumes_where_it_stopped(tmp_path):
    image_encoder, text_encoder, loss = tiny_encoders("clip")
    history = train_contrastive(image_encoder, text_encoder, pairs(64, dataset=True), loss, **train_options())
    one = [p.detach() for m in (image_encoder, text_encoder, loss) for p in m.parameters()]

    torchrun("train", tmp_path / "full.pt")
    full = torch.load(tmp_path / "full.pt", weights_only=True)
    for mine, other in zip(one, full["params"], strict=True):
        torch.testing.assert_close(other, mine, atol=1e-5, rtol=0)
    assert full["loss"] == pytest.approx(history["train_loss"], abs=1e-5)

    stopped = torchrun("train_interrupted", tmp_path / "resumed.pt", expect_ok=False)
    assert stopped.returncode != 0 and "interrupted on purpose" in stopped.stderr
    assert (tmp_path / "resumed.pt.run.pt").exists()  # epoch 1 was saved before the interruption
    torchrun("train_resumed", tmp_path / "resumed.pt")
    resumed = torch.load(tmp_path / "resumed.pt", weights_only=True)
    for a, b in zip(resumed["params"], full["params"], strict=True):
        assert torch.equal(a, b)
