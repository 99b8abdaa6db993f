"""The architectures of the lecture, one module per family, each written after its paper's tables.

=================  ==================================================================
module             paper
=================  ==================================================================
``vgg``            Simonyan & Zisserman 2015, "Very Deep Convolutional Networks ..."
``resnet``         He, Zhang, Ren & Sun 2016, "Deep Residual Learning ..."
``nin``            Lin, Chen & Yan 2014, "Network In Network"
``allconv``        Springenberg et al. 2015, "Striving for Simplicity: The All Convolutional Net"
``googlenet``      Szegedy et al. 2015, "Going Deeper with Convolutions"
``preact``         He et al. 2016, "Identity Mappings in Deep Residual Networks"
``densenet``       Huang et al. 2017, "Densely Connected Convolutional Networks"
``resnext``        Xie et al. 2017, "Aggregated Residual Transformations ..."
``mobilenet``      Howard et al. 2017, "MobileNets ..."; Sandler et al. 2018, "MobileNetV2 ..."
=================  ==================================================================

Every model returns logits (no softmax); GoogLeNet in training mode also returns its auxiliary logits.
Each module's ``__all__`` is what it exports here (as in torchvision), so a new family is one import
line below plus its entry in :data:`CIFAR_MODELS`.
"""

from collections.abc import Callable
from functools import partial

from torch import nn

from helper.models.allconv import *  # noqa: F403
from helper.models.common import *  # noqa: F403
from helper.models.densenet import *  # noqa: F403
from helper.models.googlenet import *  # noqa: F403
from helper.models.mobilenet import *  # noqa: F403
from helper.models.nin import *  # noqa: F403
from helper.models.preact import *  # noqa: F403
from helper.models.resnet import *  # noqa: F403
from helper.models.resnext import *  # noqa: F403
from helper.models.vgg import *  # noqa: F403

# The CIFAR-10 configuration (3x32x32 in, 10 logits out) of each architecture a notebook trains.
# One registry for `make bench` and the model tests.
CIFAR_MODELS: dict[str, Callable[[], nn.Module]] = {
    "vgg16_bn": partial(vgg16, batch_norm=True, input_size=32, num_classes=10),  # noqa: F405
    "resnet56": partial(small_resnet, 9, shortcut_option="A"),  # noqa: F405 - as He et al. (and notebook 08)
    "resnet34": partial(resnet34, stem="cifar", num_classes=10),  # noqa: F405
    "nin": partial(nin, num_classes=10),  # noqa: F405
    "all_conv": partial(all_conv, "C", "all", num_classes=10),  # noqa: F405
    "googlenet": partial(googlenet, stem="cifar", num_classes=10),  # noqa: F405
    "densenet_bc100": partial(densenet_bc, 100, 12),  # noqa: F405 - DenseNet-BC (L=100, k=12), notebook 14
}
