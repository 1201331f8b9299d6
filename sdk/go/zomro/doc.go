// Zomro Cloud VPS images as code.
package zomro
