#include "runtime/error_bridge.hpp"

#include <gtest/gtest.h>

#include <caf/sec.hpp>

namespace weft {
namespace {

TEST(ErrorBridgeTest, OkMapsToEmptyErrorAndBack) {
  EXPECT_TRUE(to_status(caf::error{}).ok());
  EXPECT_FALSE(to_error(absl::OkStatus()));
  EXPECT_FALSE(make_weft_error(errc::ok, "ignored"));
}

TEST(ErrorBridgeTest, WeftErrorCarriesCodeCategoryAndMessage) {
  auto err = make_weft_error(errc::overloaded, "pool full");
  EXPECT_EQ(err.category(), caf::atom("weft"));
  EXPECT_EQ(err.code(), static_cast<uint8_t>(errc::overloaded));
  EXPECT_EQ(message_of(err), "pool full");
  EXPECT_EQ(code_of(err), errc::overloaded);
}

TEST(ErrorBridgeTest, EveryCodeSurvivesARoundTrip) {
  for (uint8_t i = 1; i <= static_cast<uint8_t>(errc::failed_precondition); ++i) {
    auto code = static_cast<errc>(i);
    auto status = to_status(make_weft_error(code, "text"));
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.message(), "text");
    EXPECT_EQ(code_of(status), code) << to_string(code);
    auto back = to_error(status);
    EXPECT_EQ(code_of(back), code) << to_string(code);
    EXPECT_EQ(message_of(back), "text");
  }
}

TEST(ErrorBridgeTest, CodesMapToMatchingAbslCodes) {
  EXPECT_EQ(make_status(errc::deadline_exceeded, "").code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(make_status(errc::not_found, "").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(make_status(errc::overloaded, "").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(make_status(errc::checksum_mismatch, "").code(),
            absl::StatusCode::kDataLoss);
}

TEST(ErrorBridgeTest, PlainAbslStatusMapsByTable) {
  EXPECT_EQ(code_of(absl::NotFoundError("x")), errc::not_found);
  EXPECT_EQ(code_of(absl::DeadlineExceededError("x")), errc::deadline_exceeded);
  EXPECT_EQ(code_of(absl::UnavailableError("x")), errc::unavailable);
  EXPECT_EQ(code_of(absl::InternalError("x")), errc::internal);
  auto err = to_error(absl::PermissionDeniedError("nope"));
  EXPECT_EQ(code_of(err), errc::permission_denied);
  EXPECT_EQ(message_of(err), "nope");
}

TEST(ErrorBridgeTest, CafSystemErrorsMapToClosestCode) {
  auto timeout = to_status(caf::make_error(caf::sec::request_timeout));
  EXPECT_EQ(timeout.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(timeout.message().find("request_timeout"), absl::string_view::npos);
  EXPECT_EQ(code_of(caf::make_error(caf::sec::request_receiver_down)),
            errc::unavailable);
  EXPECT_EQ(code_of(caf::make_error(caf::sec::unexpected_message)),
            errc::not_found);
}

TEST(ErrorBridgeTest, ForeignCategoryIsInternal) {
  caf::error foreign{1, caf::atom("other")};
  EXPECT_EQ(code_of(foreign), errc::internal);
}

TEST(ErrorBridgeTest, ErrcNamesParseBack) {
  for (uint8_t i = 0; i <= static_cast<uint8_t>(errc::failed_precondition); ++i) {
    auto code = static_cast<errc>(i);
    errc parsed;
    ASSERT_TRUE(from_string(to_string(code), parsed));
    EXPECT_EQ(parsed, code);
  }
  errc unused;
  EXPECT_FALSE(from_string("bogus", unused));
}

} // namespace
} // namespace weft
