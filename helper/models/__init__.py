"""The architectures of the lecture, one module per family, each written after its paper's tables.

=================  ==================================================================
module             paper
=================  ==================================================================
``vgg``            Simonyan & Zisserman 2015, "Very Deep Convolutional Networks ..."
``resnet``         He, Zhang, Ren & Sun 2016, "Deep Residual Learning ..."
``nin``            Lin, Chen & Yan 2014, "Network In Network"
``allconv``        Springenberg et al. 2015, "Striving for Simplicity: The All Convolutional Net"
``googlenet``      Szegedy et al. 2015, "Going Deeper with Convolutions"
=================  ==================================================================

Every model returns logits (no softmax); GoogLeNet in training mode also returns its auxiliary logits.
"""

from helper.models.allconv import AllConvNet, all_conv
from helper.models.googlenet import GoogLeNet, InceptionAux, InceptionModule, googlenet
from helper.models.nin import MLPConv, NiN, nin
from helper.models.resnet import (
    BasicBlock,
    Bottleneck,
    ResidualBlock,
    ResNet,
    SmallResNet,
    resnet,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
    small_resnet,
)
from helper.models.vgg import VGG, vgg, vgg11, vgg13, vgg16, vgg19

__all__ = [
    "VGG",
    "vgg",
    "vgg11",
    "vgg13",
    "vgg16",
    "vgg19",
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "ResidualBlock",
    "SmallResNet",
    "resnet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "small_resnet",
    "MLPConv",
    "NiN",
    "nin",
    "AllConvNet",
    "all_conv",
    "GoogLeNet",
    "InceptionAux",
    "InceptionModule",
    "googlenet",
]
