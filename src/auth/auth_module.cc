// Placeholder so the auth library is never empty; removed when auth has code.
namespace ebb::auth {}
