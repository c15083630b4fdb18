#include "layout_variant.inc"
