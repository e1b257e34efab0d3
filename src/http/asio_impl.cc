// Compiles Asio, its SSL support and Beast once for the whole binary (see STYLE.md, Build):
// every other translation unit is built with BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION and only sees declarations.

#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
