# CLI tests of the transform operations (tests/cli/ops_*.sh), each against
# ImageMagick as the reference.
ib_cli_test(cli_ops_geometry ops_geometry.sh)
ib_cli_test(cli_ops_filters ops_filters.sh)
ib_cli_test(cli_ops_shrink ops_shrink.sh)
# --resize: exact sizes, bounded memory on long images, wide PNG output.
ib_cli_test(cli_resize_exact resize_exact.sh)
ib_cli_test(cli_png_wide png_wide.sh)
ib_cli_test(cli_resize_memory resize_memory.sh)
# --blur and --sharpen in place: a 24 MP image under ulimit -v 130 MB.
ib_cli_test(cli_ops_blur_memory blur_memory.sh)

# The PNG encoder: lossless round trips, levels, ICC, size against libpng.
ib_cli_test(cli_png_encode png_encode.sh)

# The JPEG encoder: subsampling, progressive, optimised Huffman tables.
ib_cli_test(cli_jpeg_encode jpeg_encode.sh)
