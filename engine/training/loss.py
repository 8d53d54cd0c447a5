"""Symmetric InfoNCE with multi-positive targets.

Plain CLIP targets say "row i matches only column i". When two pairs of a batch share a caption, their
text embeddings are identical, so plain targets ask the model to pull an image towards a text and push it
away from the very same text: a false negative that caps accuracy and adds noise. Here every pair of the
same group (caption by default) or of the same image is a positive, and the target puts equal mass on each.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def positive_mask(groups: Sequence[int], images: Sequence[int]) -> torch.Tensor:
    """Boolean [B, B] mask: True where pairs i and j share a group id or an image id."""
    g = torch.as_tensor(list(groups))
    m = torch.as_tensor(list(images))
    return (g[:, None] == g[None, :]) | (m[:, None] == m[None, :])


def soft_cross_entropy(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """Mean over rows of the cross-entropy between softmax(logits) and the uniform distribution
    over each row's positives."""
    targets = positives.to(logits.dtype)
    targets = targets / targets.sum(dim=1, keepdim=True)
    return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def contrastive_loss(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    logit_scale: torch.Tensor,
    positives: torch.Tensor,
) -> torch.Tensor:
    """Symmetric multi-positive InfoNCE on L2-normalised features. `logit_scale` is the multiplier
    itself (already exponentiated). With an identity mask this is exactly CLIP's loss."""
    # Softmax in fp32 even under autocast: fp16 log-sum-exp over large logits loses the gradient.
    logits = logit_scale.float() * image_features.float() @ text_features.float().T
    positives = positives.to(logits.device)
    image_to_text = soft_cross_entropy(logits, positives)
    text_to_image = soft_cross_entropy(logits.T, positives.T)
    return (image_to_text + text_to_image) / 2
