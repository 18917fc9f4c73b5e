#include "model/model.h"

#include <fmt/format.h>

#include "core/log.h"
#include "model/arch/arch.h"
#include "model/blocks.h"

namespace kiln {

Model::Model(gguf::GgufFile file, ModelConfig config, LoadOptions options)
    : file_(std::move(file)), config_(std::move(config)), options_(options) {}

Model::~Model() = default;

namespace {

Status check_options(const LoadOptions& o) {
  if (o.n_threads < 1 || o.n_threads > 1024) {
    return Status::error(fmt::format("n_threads = {} must be in [1, 1024]", o.n_threads));
  }
  if (o.kv_type != GgmlType::F32 && o.kv_type != GgmlType::F16) {
    return Status::error(fmt::format("KV cache type {} is not supported (f32, f16)",
                                     ggml_type_name(static_cast<uint32_t>(o.kv_type))));
  }
  return Status::ok();
}

Result<std::unique_ptr<Model>> load_impl(const std::string& path, const LoadOptions& options,
                                         std::unique_ptr<Model> (*make)(gguf::GgufFile, ModelConfig,
                                                                        LoadOptions)) {
  KILN_TRY(check_options(options));
  KILN_ASSIGN_OR_RETURN(gguf::GgufFile file, gguf::GgufFile::open(path));
  KILN_ASSIGN_OR_RETURN(ModelConfig config, read_common_config(file));
  if (find_arch(config.arch) == nullptr) {
    return Status::error(fmt::format("architecture '{}' is not supported (supported: {})",
                                     config.arch, supported_arch_names()));
  }
  return make(std::move(file), std::move(config), options);
}

}  // namespace

Result<std::unique_ptr<Model>> Model::load(const std::string& path, const LoadOptions& options) {
  auto make = [](gguf::GgufFile f, ModelConfig c, LoadOptions o) {
    return std::unique_ptr<Model>(new Model(std::move(f), std::move(c), o));
  };
  auto loaded = load_impl(path, options, make);
  if (!loaded.is_ok()) return loaded.status().with_context(path);
  std::unique_ptr<Model> model = std::move(loaded).value();
  // Bind after the GgufFile has its final home: matrices point into its mapping.
  const ArchEntry* arch = find_arch(model->config_.arch);
  auto bound = arch->load(model->file_, model->config_);
  if (!bound.is_ok()) return bound.status().with_context(path);
  model->arch_ = std::move(bound).value();
  model->state_ = std::make_unique<ForwardState>(model->config_, model->options_);
  KILN_LOG_DEBUG("loaded {}: {}", path, describe(model->config_));
  return model;
}

Result<std::unique_ptr<KvCache>> Model::make_kv_cache(int32_t n_seq_max, int32_t n_ctx) const {
  KILN_ASSIGN_OR_RETURN(auto cache, ContiguousKvCache::create(config_.n_layer, config_.kv_dim(),
                                                              n_seq_max, n_ctx, options_.kv_type));
  return std::unique_ptr<KvCache>(std::move(cache));
}

Status Model::forward(const Batch& batch, KvCache& cache, std::vector<float>& logits) {
  const size_t n = batch.size();
  if (n == 0) return Status::error("batch is empty");
  if (batch.positions.size() != n || batch.seq_ids.size() != n || batch.want_logits.size() != n) {
    return Status::error(
        fmt::format("batch: {} tokens but {} positions, {} sequence ids and {} logit flags", n,
                    batch.positions.size(), batch.seq_ids.size(), batch.want_logits.size()));
  }
  for (size_t i = 0; i < n; ++i) {
    if (batch.tokens[i] < 0 || batch.tokens[i] >= config_.n_vocab) {
      return Status::error(fmt::format("batch entry {}: token id {} is outside [0, {})", i,
                                       batch.tokens[i], config_.n_vocab));
    }
  }
  if (cache.n_layer() != config_.n_layer || cache.kv_dim() != config_.kv_dim()) {
    return Status::error(
        fmt::format("KV cache geometry ({} layers x {}) does not match the model ({} layers x {})",
                    cache.n_layer(), cache.kv_dim(), config_.n_layer, config_.kv_dim()));
  }
  KILN_TRY(cache.begin_batch(batch));
  state_->reserve(static_cast<int64_t>(n), cache.n_ctx());
  Forward f{config_, *state_, batch, cache, static_cast<int64_t>(n)};
  arch_->forward(f, logits);
  return Status::ok();
}

}  // namespace kiln
