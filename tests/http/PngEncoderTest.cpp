#include <gtest/gtest.h>
#include <png.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "torcht1/http/PngEncoder.h"

namespace torcht1 {
namespace {

using http::PngEncoder;

struct Decoded {
  int width = 0;
  int height = 0;
  png_uint_32 format = 0;
  std::vector<uint8_t> pixels;
};

/// Reads the PNG back with libpng's own decoder, in the format it was written in.
Decoded decode(const std::vector<uint8_t>& bytes) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) {
    throw std::runtime_error(std::string("decode: ") + image.message);
  }
  Decoded d;
  d.width = static_cast<int>(image.width);
  d.height = static_cast<int>(image.height);
  d.format = image.format;
  d.pixels.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, d.pixels.data(), 0, nullptr)) {
    throw std::runtime_error(std::string("decode: ") + image.message);
  }
  return d;
}

void expectSignature(const std::vector<uint8_t>& png) {
  const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  ASSERT_GE(png.size(), 8u);
  EXPECT_EQ(std::memcmp(png.data(), signature, 8), 0);
}

TEST(HttpPngEncoder, GrayRoundTripsThroughLibpng) {
  const int width = 37, height = 11;  // odd sizes: no row padding assumed
  std::vector<uint8_t> pixels(width * height);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>((i * 7 + i / width) % 256);

  const auto png = PngEncoder::encodeGray(pixels.data(), width, height);
  expectSignature(png);
  const Decoded d = decode(png);
  EXPECT_EQ(d.width, width);
  EXPECT_EQ(d.height, height);
  EXPECT_EQ(d.format, static_cast<png_uint_32>(PNG_FORMAT_GRAY));
  EXPECT_EQ(d.pixels, pixels);
}

TEST(HttpPngEncoder, RgbRoundTripsThroughLibpng) {
  const int width = 5, height = 3;
  std::vector<uint8_t> pixels(width * height * 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t* p = &pixels[(y * width + x) * 3];
      p[0] = static_cast<uint8_t>(x * 50);
      p[1] = static_cast<uint8_t>(y * 100);
      p[2] = static_cast<uint8_t>(255 - x - y);
    }
  }
  const auto png = PngEncoder::encodeRgb(pixels.data(), width, height);
  expectSignature(png);
  const Decoded d = decode(png);
  EXPECT_EQ(d.width, width);
  EXPECT_EQ(d.height, height);
  EXPECT_EQ(d.format, static_cast<png_uint_32>(PNG_FORMAT_RGB));
  EXPECT_EQ(d.pixels, pixels);
}

TEST(HttpPngEncoder, OnePixelImage) {
  const uint8_t pixel = 200;
  const Decoded d = decode(PngEncoder::encodeGray(&pixel, 1, 1));
  EXPECT_EQ(d.width, 1);
  EXPECT_EQ(d.height, 1);
  EXPECT_EQ(d.pixels, std::vector<uint8_t>{200});
}

TEST(HttpPngEncoder, RejectsBadArguments) {
  const uint8_t pixels[4] = {};
  EXPECT_THROW(PngEncoder::encodeGray(nullptr, 2, 2), std::runtime_error);
  EXPECT_THROW(PngEncoder::encodeGray(pixels, 0, 2), std::runtime_error);
  EXPECT_THROW(PngEncoder::encodeRgb(pixels, 2, -1), std::runtime_error);
  EXPECT_THROW(PngEncoder::encodeGray(pixels, 2000000, 1), std::runtime_error);
}

}  // namespace
}  // namespace torcht1
